// Venue data read as the venues mean it: the GPU memory a venue reports per GPU (Vast `gpu_ram`), so that 40 GB
// and 80 GB parts of one name land in their own classes; each snapshot's ignored rows counted per reason; and a
// run's yield warning. Frozen: never edit, add a new one.
import { sql, type Kysely } from 'kysely';
import { columnTypes, createRefusalTrigger, dialectOf } from '../dialect.js';

export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema.alterTable('observations').addColumn('gpu_memory_gb', t.real).execute();
  // JSON object reason -> count of the rows the parser ignored (not offered, reservations, ...); null before it was kept.
  await db.schema.alterTable('snapshots').addColumn('ignored_reasons', t.text).execute();
  // Part of the parse outcome: recorded once, with it.
  if (dialectOf(db) === 'postgres') {
    await createRefusalTrigger(db, {
      name: 'snapshots_ignored_reasons_once',
      table: 'snapshots',
      on: 'UPDATE',
      columns: ['ignored_reasons'],
      when: "OLD.parse_outcome <> 'pending'",
      message: 'snapshots are append-only: the parse outcome is already recorded',
    });
  } else {
    await sql`CREATE TRIGGER snapshots_ignored_reasons_once
    BEFORE UPDATE OF ignored_reasons ON snapshots
    WHEN OLD.parse_outcome <> 'pending'
    BEGIN SELECT RAISE(ABORT, 'snapshots are append-only: the parse outcome is already recorded'); END`.execute(db);
  }
  // Why a finished run is `degraded` (its accepted rows collapsed against the venue's recent runs); null otherwise.
  await db.schema.alterTable('collector_runs').addColumn('warning', t.text).execute();
}

export async function down(): Promise<void> {
  throw new Error('observations are never altered backwards: the audit trail is kept');
}
