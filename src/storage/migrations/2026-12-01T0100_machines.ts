// The physical machine behind an observation, where the venue gives it (Vast `machine_id`), so that overlapping
// offers of one machine can be counted once. Frozen: never edit, add a new one.
import type { Kysely } from 'kysely';
import { columnTypes } from '../dialect.js';

export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema.alterTable('observations').addColumn('machine_id', t.text).execute();
}

export async function down(): Promise<void> {
  throw new Error('observations are never altered backwards: the audit trail is kept');
}
