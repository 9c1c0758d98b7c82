// Migration: raw snapshots, their observations and row issues, and collector runs. Frozen: never edit, add a new one.
import { sql, type Kysely } from 'kysely';
import { columnTypes, createRefusalTrigger, dialectOf } from '../dialect.js';

// Ids are plain rowid aliases, not AUTOINCREMENT: these tables refuse DELETE, so ids are never reused anyway,
// and AUTOINCREMENT would add a sqlite_sequence write to every insert on the hot ingest path.
export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema
    .createTable('collector_runs')
    .addColumn('id', t.integer, t.id)
    .addColumn('venue', t.text, (c) => c.notNull())
    .addColumn('started_at', t.integer, (c) => c.notNull())
    .addColumn('finished_at', t.integer)
    .addColumn('attempts', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('outcome', t.text, (c) => c.notNull())
    .addColumn('error', t.text)
    .addColumn('snapshots', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('observations', t.integer, (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('collector_runs_venue_started').on('collector_runs').columns(['venue', 'started_at']).execute();

  await db.schema
    .createTable('snapshots')
    .addColumn('id', t.integer, t.id)
    .addColumn('venue', t.text, (c) => c.notNull())
    .addColumn('fetched_at', t.integer, (c) => c.notNull())
    .addColumn('source', t.text, (c) => c.notNull())
    .addColumn('request_method', t.text, (c) => c.notNull())
    .addColumn('request_url', t.text, (c) => c.notNull())
    .addColumn('request_body', t.text)
    .addColumn('http_status', t.integer)
    .addColumn('content_type', t.text)
    .addColumn('body', t.blob, (c) => c.notNull())
    .addColumn('sha256', t.text, (c) => c.notNull())
    .addColumn('byte_size', t.integer, (c) => c.notNull())
    .addColumn('truncated', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('redacted', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('parser_version', t.text, (c) => c.notNull())
    .addColumn('parser_options', t.text, (c) => c.notNull().defaultTo('{}'))
    .addColumn('parse_outcome', t.text, (c) => c.notNull().defaultTo('pending'))
    .addColumn('parse_error', t.text)
    .addColumn('rows_total', t.integer)
    .addColumn('rows_accepted', t.integer)
    .addColumn('rows_rejected', t.integer)
    .addColumn('rows_ignored', t.integer)
    .addColumn('run_id', t.integer, (c) => c.references('collector_runs.id'))
    .execute();
  // The same body fetched at the same instant from the same venue is one snapshot, not two.
  await db.schema.createIndex('snapshots_identity').unique().on('snapshots').columns(['venue', 'sha256', 'fetched_at']).execute();
  await db.schema.createIndex('snapshots_fetched_at').on('snapshots').columns(['fetched_at', 'venue']).execute();

  await db.schema
    .createTable('observations')
    .addColumn('id', t.integer, t.id)
    .addColumn('snapshot_id', t.integer, (c) => c.notNull().references('snapshots.id'))
    .addColumn('seq', t.integer, (c) => c.notNull())
    .addColumn('listing_id', t.text, (c) => c.notNull())
    .addColumn('host_id', t.text)
    .addColumn('gpu_raw', t.text, (c) => c.notNull())
    .addColumn('gpu_count', t.integer, (c) => c.notNull())
    .addColumn('price_usd_per_hour', t.real, (c) => c.notNull())
    .addColumn('contract', t.text, (c) => c.notNull())
    .addColumn('available', t.integer, (c) => c.notNull())
    .addColumn('perf_system', t.text)
    .addColumn('perf_score_per_gpu', t.real)
    .addColumn('region', t.text)
    .addColumn('quantity_reported', t.integer, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('observations_snapshot').on('observations').columns(['snapshot_id', 'seq']).execute();

  await db.schema
    .createTable('snapshot_issues')
    .addColumn('id', t.integer, t.id)
    .addColumn('snapshot_id', t.integer, (c) => c.notNull().references('snapshots.id'))
    .addColumn('row_index', t.integer, (c) => c.notNull())
    .addColumn('listing_id', t.text)
    .addColumn('code', t.text, (c) => c.notNull())
    .addColumn('detail', t.text, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('snapshot_issues_snapshot').on('snapshot_issues').column('snapshot_id').execute();

  // Append-only raw data. The stored bytes and their identity can never change or vanish; the only
  // permitted update is recording the parse outcome once, on a snapshot still marked `pending`.
  // SQLite's trigger text is frozen (verify compares it); PostgreSQL gets the same refusals in PL/pgSQL.
  if (dialectOf(db) === 'postgres') {
    await createRefusalTrigger(db, { name: 'snapshots_no_delete', table: 'snapshots', on: 'DELETE', message: 'snapshots are append-only: DELETE refused' });
    await createRefusalTrigger(db, {
      name: 'snapshots_body_immutable',
      table: 'snapshots',
      on: 'UPDATE',
      columns: SNAPSHOT_IDENTITY_COLUMNS_WITH_BODY,
      message: 'snapshots are append-only: the stored body and its metadata cannot be updated',
    });
    await createRefusalTrigger(db, {
      name: 'snapshots_outcome_once',
      table: 'snapshots',
      on: 'UPDATE',
      columns: ['parse_outcome', 'parse_error', 'rows_total', 'rows_accepted', 'rows_rejected', 'rows_ignored', 'run_id'],
      when: "OLD.parse_outcome <> 'pending'",
      message: 'snapshots are append-only: the parse outcome is already recorded',
    });
    await createRefusalTrigger(db, {
      name: 'observations_no_update',
      table: 'observations',
      on: 'UPDATE',
      message: 'observations are append-only: UPDATE refused',
    });
    await createRefusalTrigger(db, {
      name: 'observations_no_delete',
      table: 'observations',
      on: 'DELETE',
      message: 'observations are append-only: DELETE refused',
    });
    return;
  }
  await sql`CREATE TRIGGER snapshots_no_delete BEFORE DELETE ON snapshots
    BEGIN SELECT RAISE(ABORT, 'snapshots are append-only: DELETE refused'); END`.execute(db);
  await sql`CREATE TRIGGER snapshots_body_immutable
    BEFORE UPDATE OF id, venue, fetched_at, source, request_method, request_url, request_body, http_status,
      content_type, body, sha256, byte_size, truncated, redacted, parser_version, parser_options ON snapshots
    BEGIN SELECT RAISE(ABORT, 'snapshots are append-only: the stored body and its metadata cannot be updated'); END`.execute(db);
  await sql`CREATE TRIGGER snapshots_outcome_once
    BEFORE UPDATE OF parse_outcome, parse_error, rows_total, rows_accepted, rows_rejected, rows_ignored, run_id ON snapshots
    WHEN OLD.parse_outcome <> 'pending'
    BEGIN SELECT RAISE(ABORT, 'snapshots are append-only: the parse outcome is already recorded'); END`.execute(db);
  await sql`CREATE TRIGGER observations_no_update BEFORE UPDATE ON observations
    BEGIN SELECT RAISE(ABORT, 'observations are append-only: UPDATE refused'); END`.execute(db);
  await sql`CREATE TRIGGER observations_no_delete BEFORE DELETE ON observations
    BEGIN SELECT RAISE(ABORT, 'observations are append-only: DELETE refused'); END`.execute(db);
}

const SNAPSHOT_IDENTITY_COLUMNS_WITH_BODY = [
  'id',
  'venue',
  'fetched_at',
  'source',
  'request_method',
  'request_url',
  'request_body',
  'http_status',
  'content_type',
  'body',
  'sha256',
  'byte_size',
  'truncated',
  'redacted',
  'parser_version',
  'parser_options',
];

export async function down(): Promise<void> {
  throw new Error('raw collection tables are never dropped: the audit trail is kept');
}
