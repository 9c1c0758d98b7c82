// Queries behind replay, export and verification: raw snapshots with their bytes, every revision of a date, and
// audit rows keyed by snapshot sha256 and position (identities that hold across databases).
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { auditRowsOf } from './audit-blocks.js';
import { readStoredBody, type UnreadableBody } from './bodies.js';
import { dialectOf } from './dialect.js';
import { migrateToLatest, migrations } from './migrate.js';
import type { AuditRowValues } from './audit-blocks.js';
import type { Db } from './db.js';
import type { Database, Fixing, Snapshot } from './schema.js';

/** Metadata of the snapshots fetched in [from, to) up to a watermark, in id order; bodies are read one at a time with `snapshotBody`. */
export async function rawSnapshotsInWindow(db: Db, from: number, to: number, through: number): Promise<Snapshot[]> {
  return db.selectFrom('snapshots').selectAll().where('fetched_at', '>=', from).where('fetched_at', '<', to).where('id', '<=', through).orderBy('id').execute();
}

/** Every revision of a date, in publication order. */
export async function revisionsOfDate(db: Db, date: string, series?: readonly string[]): Promise<Fixing[]> {
  let q = db.selectFrom('fixings').selectAll().where('date', '=', date);
  if (series?.length) q = q.where('series', 'in', series);
  return q.orderBy('id').execute();
}

/** An audit row with the sha256 of the snapshot it names (what a bundle carries). */
export interface KeyedAuditRow extends AuditRowValues {
  sha256: string;
}

/** The sha256 of each of these snapshots that still exists. */
export async function snapshotHashes(db: Db, ids: Iterable<number>): Promise<Map<number, string>> {
  const all = [...new Set(ids)];
  const out = new Map<number, string>();
  for (let i = 0; i < all.length; i += 500) {
    for (const r of await db
      .selectFrom('snapshots')
      .select(['id', 'sha256'])
      .where('id', 'in', all.slice(i, i + 500))
      .execute())
      out.set(r.id, r.sha256);
  }
  return out;
}

/** A fixing's audit rows in observation-id order, each with its snapshot's sha256 (an identity across databases). */
export async function keyedAuditRows(db: Db, fixingId: number): Promise<KeyedAuditRow[]> {
  const rows = await auditRowsOf(db, fixingId);
  const hashes = await snapshotHashes(
    db,
    rows.map((r) => r.snapshot_id),
  );
  // A snapshot removed behind the triggers' back leaves its rows unmatchable, not lost.
  return rows.map(({ observation_id, snapshot_id, seq, ...rest }) => ({
    observation_id,
    snapshot_id,
    sha256: hashes.get(snapshot_id) ?? `missing-snapshot-${snapshot_id}`,
    seq,
    ...rest,
  }));
}

/** Every fixing revision in publication order (the hash chain's order). */
export async function allFixings(db: Db): Promise<Fixing[]> {
  return db.selectFrom('fixings').selectAll().orderBy('id').execute();
}

/** Names of the append-only triggers present in the database. */
export async function triggerNames(db: Db): Promise<string[]> {
  return [...(await triggerDefinitions(db)).keys()];
}

/**
 * Every trigger in the database with its SQL text, by name. On PostgreSQL the text is the server's own rendering
 * of each trigger of the current schema (without the schema name, which the reference's differs in), and the refusal function's body is listed too (a trigger that calls a
 * function rewritten to do nothing would refuse nothing).
 */
export async function triggerDefinitions(db: Kysely<Database>): Promise<Map<string, string>> {
  if (dialectOf(db) === 'postgres') {
    const rows = await sql<{ name: string; sql: string }>`
      select t.tgname as name, replace(pg_get_triggerdef(t.oid), ' ON ' || quote_ident(n.nspname) || '.', ' ON ') as sql from pg_trigger t
        join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
        where not t.tgisinternal and n.nspname = current_schema()
      union all
      select 'function ' || p.proname, p.prosrc from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where p.proname = 'gpuidx_refuse' and n.nspname = current_schema()
      order by 1`.execute(db);
    return new Map(rows.rows.map((r) => [r.name, r.sql]));
  }
  const rows = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'trigger' order by name`.execute(db);
  return new Map(rows.rows.map((r) => [r.name, r.sql]));
}

/**
 * The triggers exactly as this software's migrations create them. SQLite: built in a fresh in-memory database.
 * PostgreSQL (pass `db`): every migration run in a scratch schema inside a transaction that is rolled back, so
 * the server renders them as it renders the live ones, and nothing is left behind.
 */
export async function referenceTriggerDefinitions(db?: Db): Promise<Map<string, string>> {
  if (db && dialectOf(db) === 'postgres') return postgresReferenceTriggers(db);
  const memory = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
  try {
    await migrateToLatest(memory);
    return await triggerDefinitions(memory);
  } finally {
    await memory.destroy();
  }
}

class RolledBack extends Error {
  constructor(readonly definitions: Map<string, string>) {
    super('reference schema rolled back');
  }
}

async function postgresReferenceTriggers(db: Db): Promise<Map<string, string>> {
  try {
    await db.transaction().execute(async (trx) => {
      await sql`create schema gpuidx_reference`.execute(trx);
      await sql`set local search_path to gpuidx_reference`.execute(trx);
      for (const migration of Object.values(migrations)) await migration.up(trx);
      throw new RolledBack(await triggerDefinitions(trx));
    });
  } catch (err) {
    if (err instanceof RolledBack) return err.definitions;
    throw err;
  }
  throw new Error('unreachable: the reference transaction always rolls back');
}

export interface StoredBody {
  id: number;
  venue: string;
  sha256: string;
  byte_size: number;
  /** The original bytes, or why they cannot be had: no body stored, or one that does not decode. */
  body: Buffer | UnreadableBody;
}

/** Every snapshot's recorded sha256 and size with its decoded body, in id order, a few bodies in memory at a time. */
export async function* snapshotBodies(db: Db, batch = 16): AsyncGenerator<StoredBody> {
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom('snapshots as s')
      .leftJoin('snapshot_bodies as b', 'b.snapshot_id', 's.id')
      .select(['s.id', 's.venue', 's.sha256', 's.byte_size', 'b.encoding', 'b.data'])
      .where('s.id', '>', after)
      .orderBy('s.id')
      .limit(batch)
      .execute();
    if (rows.length === 0) return;
    for (const { encoding, data, ...meta } of rows) {
      yield { ...meta, body: await readStoredBody(meta.id, encoding !== null && data !== null ? { encoding, data } : null, meta.byte_size) };
    }
    after = rows[rows.length - 1]!.id;
  }
}

/** Snapshots whose content repeats an earlier snapshot of the same venue and instant (stored twice by an older version). */
export async function repeatedSnapshots(db: Db): Promise<number[]> {
  const rows = await db.selectFrom('snapshots').select('id').where('content_sha256', 'like', '%/repeat-%').orderBy('id').execute();
  return rows.map((r) => r.id);
}
