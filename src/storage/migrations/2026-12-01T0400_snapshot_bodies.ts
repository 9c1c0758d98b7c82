// Migration: raw bodies move out of `snapshots` into `snapshot_bodies`, brotli-compressed, so that no query over
// snapshot metadata walks body bytes and the database grows by the compressed size. No hash changes: each
// snapshot keeps the sha256 and size of its original bytes, and each body decodes back to exactly them.
// Frozen: never edit, add a new one.
import { sql, type Kysely } from 'kysely';
import { encodeBody } from '../bodies.js';
import { createRefusalTrigger, dialectOf } from '../dialect.js';

// Bodies moved per read: a Vast search is tens of MB, so a handful at a time bounds the memory.
const BATCH = 8;

/**
 * Safe to interrupt anywhere (SQLite migrations run outside a transaction): bodies are copied a batch at a time,
 * each insert is idempotent, and the column is dropped in one transaction only once every body is copied. A rerun
 * after a crash picks up where the copy stopped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) === 'postgres') return upPostgres(db);
  await sql`CREATE TABLE IF NOT EXISTS snapshot_bodies (
    snapshot_id integer PRIMARY KEY REFERENCES snapshots (id),
    encoding text NOT NULL,
    data blob NOT NULL
  )`.execute(db);
  await sql`CREATE TRIGGER IF NOT EXISTS snapshot_bodies_no_update BEFORE UPDATE ON snapshot_bodies
    BEGIN SELECT RAISE(ABORT, 'snapshot bodies are append-only: UPDATE refused'); END`.execute(db);
  await sql`CREATE TRIGGER IF NOT EXISTS snapshot_bodies_no_delete BEFORE DELETE ON snapshot_bodies
    BEGIN SELECT RAISE(ABORT, 'snapshot bodies are append-only: DELETE refused'); END`.execute(db);

  const columns = await sql<{ name: string }>`SELECT name FROM pragma_table_info('snapshots')`.execute(db);
  if (!columns.rows.some((c) => c.name === 'body')) return; // moved by an earlier, interrupted run

  let after = 0;
  for (;;) {
    const batch = await sql<{ id: number; body: Buffer }>`SELECT s.id, s.body FROM snapshots s
      WHERE s.id > ${after} AND NOT EXISTS (SELECT 1 FROM snapshot_bodies b WHERE b.snapshot_id = s.id)
      ORDER BY s.id LIMIT ${BATCH}`.execute(db);
    if (batch.rows.length === 0) break;
    for (const row of batch.rows) {
      // The bytes exactly as stored, forged or not: verify compares them with the recorded sha256 afterwards too.
      const { encoding, data } = await encodeBody(row.body);
      await sql`INSERT OR IGNORE INTO snapshot_bodies (snapshot_id, encoding, data) VALUES (${row.id}, ${encoding}, ${data})`.execute(db);
    }
    after = batch.rows[batch.rows.length - 1]!.id;
  }

  // The body's trigger names the column, so it is dropped and made again without it; all in one transaction.
  await sql`BEGIN IMMEDIATE`.execute(db);
  try {
    await sql`DROP TRIGGER snapshots_body_immutable`.execute(db);
    await sql`ALTER TABLE snapshots DROP COLUMN body`.execute(db);
    await sql`CREATE TRIGGER snapshots_body_immutable
    BEFORE UPDATE OF id, venue, fetched_at, source, request_method, request_url, request_body, http_status,
      content_type, sha256, byte_size, truncated, redacted, parser_version, parser_options ON snapshots
    BEGIN SELECT RAISE(ABORT, 'snapshots are append-only: the stored body and its metadata cannot be updated'); END`.execute(db);
    await sql`COMMIT`.execute(db);
  } catch (err) {
    await sql`ROLLBACK`.execute(db);
    throw err;
  }
}

/**
 * PostgreSQL runs its migrations in one transaction (its DDL is transactional), so the move needs no resumption:
 * it happens whole or not at all. (gpuidx supports PostgreSQL from a version that already has this table, so there
 * is normally nothing to move; ingest stores bodies compressed on both databases.)
 */
async function upPostgres(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('snapshot_bodies')
    .addColumn('snapshot_id', 'bigint', (c) => c.primaryKey().references('snapshots.id'))
    .addColumn('encoding', sql`text COLLATE "C"`, (c) => c.notNull())
    .addColumn('data', 'bytea', (c) => c.notNull())
    .execute();
  await createRefusalTrigger(db, {
    name: 'snapshot_bodies_no_update',
    table: 'snapshot_bodies',
    on: 'UPDATE',
    message: 'snapshot bodies are append-only: UPDATE refused',
  });
  await createRefusalTrigger(db, {
    name: 'snapshot_bodies_no_delete',
    table: 'snapshot_bodies',
    on: 'DELETE',
    message: 'snapshot bodies are append-only: DELETE refused',
  });
  await sql`INSERT INTO snapshot_bodies (snapshot_id, encoding, data) SELECT id, 'identity', body FROM snapshots`.execute(db);
  await sql`DROP TRIGGER snapshots_body_immutable ON snapshots`.execute(db);
  await sql`ALTER TABLE snapshots DROP COLUMN body`.execute(db);
  await createRefusalTrigger(db, {
    name: 'snapshots_body_immutable',
    table: 'snapshots',
    on: 'UPDATE',
    columns: [
      'id',
      'venue',
      'fetched_at',
      'source',
      'request_method',
      'request_url',
      'request_body',
      'http_status',
      'content_type',
      'sha256',
      'byte_size',
      'truncated',
      'redacted',
      'parser_version',
      'parser_options',
    ],
    message: 'snapshots are append-only: the stored body and its metadata cannot be updated',
  });
}

export async function down(): Promise<void> {
  throw new Error('raw bodies are never moved back: the audit trail is kept');
}
