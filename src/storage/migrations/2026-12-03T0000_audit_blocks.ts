// Migration: audit rows move from `fixing_inputs` (a SQL row per input, the largest table) into `fixing_audit`
// (compressed columnar blocks of up to 65,536 rows, storage/audit-blocks.ts), and revisions published from now on
// carry the sha256 of their audit in their signed document (`fixings.audit_sha256`). No hash or signature of an
// existing revision changes: their documents keep no audit hash, and their rows move as they are.
// Frozen: never edit, add a new one.
import { brotliCompressSync, constants } from 'node:zlib';
import { sql, type Kysely } from 'kysely';
import { AUDIT_BLOCK_ROWS, AUDIT_BROTLI_QUALITY, AUDIT_BROTLI_WINDOW_BITS, auditColumnsOfRows, blockBytes, type AuditRowValues } from '../audit-blocks.js';
import { columnTypes, createRefusalTrigger, dialectOf } from '../dialect.js';

/**
 * Safe to interrupt anywhere on SQLite (its migrations run outside a transaction): each fixing's blocks are written in
 * one transaction, a fixing that has blocks is skipped, and the old table is dropped in one transaction only once
 * every fixing is moved. A rerun after a crash picks up where the move stopped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = dialectOf(db) === 'postgres';
  const t = columnTypes(db);
  const fixingColumns = postgres
    ? (
        await sql<{
          name: string;
        }>`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'fixings'`.execute(db)
      ).rows
    : (await sql<{ name: string }>`SELECT name FROM pragma_table_info('fixings')`.execute(db)).rows;
  if (!fixingColumns.some((c) => c.name === 'audit_sha256')) await db.schema.alterTable('fixings').addColumn('audit_sha256', t.text).execute();
  if (postgres) {
    await db.schema
      .createTable('fixing_audit')
      .addColumn('fixing_id', 'bigint', (c) => c.notNull().references('fixings.id'))
      .addColumn('block', 'bigint', (c) => c.notNull())
      .addColumn('row_count', 'bigint', (c) => c.notNull())
      .addColumn('first_observation_id', 'bigint', (c) => c.notNull())
      .addColumn('last_observation_id', 'bigint', (c) => c.notNull())
      .addColumn('encoding', t.text, (c) => c.notNull())
      .addColumn('data', 'bytea', (c) => c.notNull())
      .addPrimaryKeyConstraint('fixing_audit_pk', ['fixing_id', 'block'])
      .execute();
    await createRefusalTrigger(db, {
      name: 'fixing_audit_no_update',
      table: 'fixing_audit',
      on: 'UPDATE',
      message: 'fixing audit blocks are append-only: UPDATE refused',
    });
    await createRefusalTrigger(db, {
      name: 'fixing_audit_no_delete',
      table: 'fixing_audit',
      on: 'DELETE',
      message: 'fixing audit blocks are append-only: DELETE refused',
    });
  } else {
    await sql`CREATE TABLE IF NOT EXISTS fixing_audit (
      fixing_id integer NOT NULL REFERENCES fixings (id),
      block integer NOT NULL,
      row_count integer NOT NULL,
      first_observation_id integer NOT NULL,
      last_observation_id integer NOT NULL,
      encoding text NOT NULL,
      data blob NOT NULL,
      PRIMARY KEY (fixing_id, block)
    )`.execute(db);
    await sql`CREATE TRIGGER IF NOT EXISTS fixing_audit_no_update BEFORE UPDATE ON fixing_audit
      BEGIN SELECT RAISE(ABORT, 'fixing audit blocks are append-only: UPDATE refused'); END`.execute(db);
    await sql`CREATE TRIGGER IF NOT EXISTS fixing_audit_no_delete BEFORE DELETE ON fixing_audit
      BEGIN SELECT RAISE(ABORT, 'fixing audit blocks are append-only: DELETE refused'); END`.execute(db);
    const old = await sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'fixing_inputs'`.execute(db);
    if (Number(old.rows[0]!.n) === 0) return; // moved and dropped by an earlier, interrupted run
  }

  let after = 0;
  for (;;) {
    const next = await sql<{ fixing_id: number }>`SELECT DISTINCT fixing_id FROM fixing_inputs WHERE fixing_id > ${after} ORDER BY fixing_id LIMIT 100`.execute(
      db,
    );
    if (next.rows.length === 0) break;
    for (const { fixing_id: id } of next.rows) {
      after = Number(id);
      const moved = await sql<{ n: number }>`SELECT count(*) AS n FROM fixing_audit WHERE fixing_id = ${after}`.execute(db);
      if (Number(moved.rows[0]!.n) > 0) continue;
      // An observation removed behind the triggers' back leaves its row with no position: -observation_id marks it,
      // as the old audit reader did, so that replay reports it rather than matching it.
      const rows = await sql<AuditRowValues>`SELECT i.observation_id, i.snapshot_id, coalesce(o.seq, -i.observation_id) AS seq, i.class, i.reason,
          i.p, i.f, i.q, i.w, i.w_capped
        FROM fixing_inputs i LEFT JOIN observations o ON o.id = i.observation_id
        WHERE i.fixing_id = ${after} ORDER BY i.observation_id`.execute(db);
      const columns = auditColumnsOfRows(
        rows.rows.map((r) => ({ ...r, observation_id: Number(r.observation_id), snapshot_id: Number(r.snapshot_id), seq: Number(r.seq) })),
      );
      const blocks = [];
      for (let from = 0, block = 0; from < columns.length; from += AUDIT_BLOCK_ROWS, block++) {
        const to = Math.min(from + AUDIT_BLOCK_ROWS, columns.length);
        const data = brotliCompressSync(blockBytes(columns, from, to), {
          params: { [constants.BROTLI_PARAM_QUALITY]: AUDIT_BROTLI_QUALITY, [constants.BROTLI_PARAM_LGWIN]: AUDIT_BROTLI_WINDOW_BITS },
        });
        blocks.push({ block, rows: to - from, first: columns.observationId[from]!, last: columns.observationId[to - 1]!, data });
      }
      if (!postgres) await sql`BEGIN IMMEDIATE`.execute(db);
      try {
        for (const b of blocks) {
          await sql`INSERT INTO fixing_audit (fixing_id, block, row_count, first_observation_id, last_observation_id, encoding, data)
            VALUES (${after}, ${b.block}, ${b.rows}, ${b.first}, ${b.last}, 'br', ${b.data})`.execute(db);
        }
        if (!postgres) await sql`COMMIT`.execute(db);
      } catch (err) {
        if (!postgres) await sql`ROLLBACK`.execute(db);
        throw err;
      }
    }
  }

  // The old table and its triggers go together, in one transaction.
  if (postgres) {
    await sql`DROP TABLE fixing_inputs`.execute(db);
    return;
  }
  await sql`BEGIN IMMEDIATE`.execute(db);
  try {
    await sql`DROP TRIGGER fixing_inputs_no_update`.execute(db);
    await sql`DROP TRIGGER fixing_inputs_no_delete`.execute(db);
    await sql`DROP TABLE fixing_inputs`.execute(db);
    await sql`COMMIT`.execute(db);
  } catch (err) {
    await sql`ROLLBACK`.execute(db);
    throw err;
  }
}

export async function down(): Promise<void> {
  throw new Error('audit blocks are never moved back: the audit trail is kept');
}
