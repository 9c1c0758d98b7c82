// Migration: raw snapshots, their observations and row issues, and collector runs. Frozen: never edit, add a new one.
import { sql, type Kysely } from 'kysely';

// Ids are plain rowid aliases, not AUTOINCREMENT: these tables refuse DELETE, so ids are never reused anyway,
// and AUTOINCREMENT would add a sqlite_sequence write to every insert on the hot ingest path.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('collector_runs')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('venue', 'text', (c) => c.notNull())
    .addColumn('started_at', 'integer', (c) => c.notNull())
    .addColumn('finished_at', 'integer')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('snapshots', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('observations', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('collector_runs_venue_started').on('collector_runs').columns(['venue', 'started_at']).execute();

  await db.schema
    .createTable('snapshots')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('venue', 'text', (c) => c.notNull())
    .addColumn('fetched_at', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('request_method', 'text', (c) => c.notNull())
    .addColumn('request_url', 'text', (c) => c.notNull())
    .addColumn('request_body', 'text')
    .addColumn('http_status', 'integer')
    .addColumn('content_type', 'text')
    .addColumn('body', 'blob', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('byte_size', 'integer', (c) => c.notNull())
    .addColumn('truncated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('redacted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('parser_version', 'text', (c) => c.notNull())
    .addColumn('parser_options', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('parse_outcome', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('parse_error', 'text')
    .addColumn('rows_total', 'integer')
    .addColumn('rows_accepted', 'integer')
    .addColumn('rows_rejected', 'integer')
    .addColumn('rows_ignored', 'integer')
    .addColumn('run_id', 'integer', (c) => c.references('collector_runs.id'))
    .execute();
  // The same body fetched at the same instant from the same venue is one snapshot, not two.
  await db.schema.createIndex('snapshots_identity').unique().on('snapshots').columns(['venue', 'sha256', 'fetched_at']).execute();
  await db.schema.createIndex('snapshots_fetched_at').on('snapshots').columns(['fetched_at', 'venue']).execute();

  await db.schema
    .createTable('observations')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('snapshot_id', 'integer', (c) => c.notNull().references('snapshots.id'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('listing_id', 'text', (c) => c.notNull())
    .addColumn('host_id', 'text')
    .addColumn('gpu_raw', 'text', (c) => c.notNull())
    .addColumn('gpu_count', 'integer', (c) => c.notNull())
    .addColumn('price_usd_per_hour', 'real', (c) => c.notNull())
    .addColumn('contract', 'text', (c) => c.notNull())
    .addColumn('available', 'integer', (c) => c.notNull())
    .addColumn('perf_system', 'text')
    .addColumn('perf_score_per_gpu', 'real')
    .addColumn('region', 'text')
    .addColumn('quantity_reported', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('observations_snapshot').on('observations').columns(['snapshot_id', 'seq']).execute();

  await db.schema
    .createTable('snapshot_issues')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('snapshot_id', 'integer', (c) => c.notNull().references('snapshots.id'))
    .addColumn('row_index', 'integer', (c) => c.notNull())
    .addColumn('listing_id', 'text')
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('snapshot_issues_snapshot').on('snapshot_issues').column('snapshot_id').execute();

  // Append-only raw data. The stored bytes and their identity can never change or vanish; the only
  // permitted update is recording the parse outcome once, on a snapshot still marked `pending`.
  // (SQLite trigger syntax; a PostgreSQL dialect adds its own equivalent migration.)
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

export async function down(): Promise<void> {
  throw new Error('raw collection tables are never dropped: the audit trail is kept');
}
