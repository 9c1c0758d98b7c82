// Copies a whole gpuidx database into an empty one, on either engine (SQLite -> PostgreSQL to move up, PostgreSQL
// -> SQLite to hand an auditor a file): every row with its id, raw bodies in their stored form, fixings with their
// signatures and chain, so that verify and replay pass on the copy exactly as on the original.
import { sql } from 'kysely';
import { insertChunked } from './bulk-insert.js';
import type { Db } from './db.js';
import { dialectOf } from './dialect.js';
import type { Database } from './schema.js';

/** Tables in the order their references need, each with the key it is paged by. */
const TABLES: readonly { table: keyof Database; key: readonly string[] }[] = [
  { table: 'collector_runs', key: ['id'] },
  { table: 'snapshots', key: ['id'] },
  { table: 'snapshot_bodies', key: ['snapshot_id'] },
  { table: 'observation_blocks', key: ['snapshot_id'] },
  { table: 'snapshot_issues', key: ['id'] },
  { table: 'signing_keys', key: ['key_id'] },
  { table: 'fixings', key: ['id'] },
  { table: 'fixing_audit', key: ['fixing_id', 'block'] },
  { table: 'chain_heads', key: ['id'] },
  { table: 'publication_runs', key: ['id'] },
  { table: 'settlements', key: ['id'] },
];

/** Tables whose ids an engine would otherwise number itself (PostgreSQL identity columns need moving past the copy). */
const NUMBERED: readonly (keyof Database)[] = ['collector_runs', 'snapshots', 'snapshot_issues', 'fixings', 'chain_heads', 'publication_runs', 'settlements'];

// Rows read per page, and bound parameters per INSERT (below SQLite's 32,766 and PostgreSQL's 65,535).
const PAGE = 5000;
const MAX_PARAMETERS = 30_000;
// Bodies are tens of MB each at Vast scale: a few per page keep the memory bounded.
const BODY_PAGE = 8;

export class CopyTargetNotEmptyError extends Error {
  constructor(readonly table: string) {
    super(`the target database already holds ${table}: gpuidx copy writes only into an empty database (a new file, or a new PostgreSQL database)`);
    this.name = 'CopyTargetNotEmptyError';
  }
}

export type CopyReport = Record<keyof Database, number>;

/**
 * Copies `from` into `to`, which must hold no data (its schema migrated). The source is read inside one write
 * transaction (no writer changes it under the copy) and the target written in one: a copy interrupted anywhere
 * leaves the target empty, to be copied again. `progress` hears each table's running count.
 */
export async function copyDatabase(from: Db, to: Db, progress: (table: keyof Database, rows: number) => void = () => {}): Promise<CopyReport> {
  for (const { table } of TABLES) {
    const any = await to.selectFrom(table).select(sql<number>`1`.as('x')).limit(1).executeTakeFirst();
    if (any) throw new CopyTargetNotEmptyError(table);
  }
  const report = Object.fromEntries(TABLES.map((t) => [t.table, 0])) as CopyReport;
  await from.transaction().execute((source) =>
    to.transaction().execute(async (target) => {
      for (const { table, key } of TABLES) {
        for await (const rows of pages(source, table, key, table === 'snapshot_bodies' ? BODY_PAGE : PAGE)) {
          await insertRows(target, to, table, rows);
          report[table] += rows.length;
          progress(table, report[table]);
        }
      }
      if (dialectOf(to) === 'postgres') {
        for (const table of NUMBERED) {
          await sql`select setval(pg_get_serial_sequence(${table}, 'id'), coalesce((select max(id) from ${sql.table(table)}), 0) + 1, false)`.execute(target);
        }
      }
    }),
  );
  return report;
}

/** A table's rows in key order, a page at a time (keyset paging: each page starts after the last key read). */
async function* pages(db: Db, table: keyof Database, key: readonly string[], size: number): AsyncGenerator<Record<string, unknown>[]> {
  let after: Record<string, unknown> | null = null;
  for (;;) {
    let q = db.selectFrom(table).selectAll();
    if (after) {
      const last = after;
      q = q.where((eb) => {
        const [k1, k2] = key as [string, string | undefined];
        if (k2 === undefined) return eb(eb.ref(k1 as never), '>', last[k1] as never);
        // A row-value comparison, which both engines answer from the primary key index (an OR of the two
        // conditions would scan the table for every page).
        return eb(eb.refTuple(k1 as never, k2 as never), '>', eb.tuple(last[k1] as never, last[k2] as never));
      });
    }
    for (const k of key) q = q.orderBy(k as never);
    const rows = (await q.limit(size).execute()) as Record<string, unknown>[];
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]!;
  }
}

/** Inserts rows through the bulk path (one statement compiled per table and row count, then reused). */
async function insertRows(trx: Db, db: Db, table: keyof Database, rows: readonly Record<string, unknown>[]): Promise<void> {
  const columns = Object.keys(rows[0]!);
  const chunk = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
  await insertChunked(trx, db, table, columns, rows, chunk, (params, row) => {
    for (const c of columns) params.push(row[c]);
  });
}
