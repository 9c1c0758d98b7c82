// Start-up recovery and health look for snapshots still `pending` or without a content identity on every start and
// health check; partial indexes make those look-ups cost nothing when (as normally) there are none, instead of a
// scan of every snapshot row (bodies included). Frozen: never edit, add a new one.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX snapshots_pending ON snapshots (id) WHERE parse_outcome = 'pending'`.execute(db);
  await sql`CREATE INDEX snapshots_without_content_key ON snapshots (id) WHERE content_sha256 IS NULL`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('indexes of the audit trail are kept');
}
