// Runs the Kysely migrations in order; called on every start and by `gpuidx migrate`.
import { Migrator, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import * as rawCollection from './migrations/2026-11-22T2200_raw_collection.js';
import * as fixings from './migrations/2026-11-22T2300_fixings.js';
import * as replayableFixings from './migrations/2026-11-23T0000_replayable_fixings.js';
import * as trust from './migrations/2026-12-01T0000_trust.js';
import * as machines from './migrations/2026-12-01T0100_machines.js';
import * as recoveryIndexes from './migrations/2026-12-01T0200_recovery_indexes.js';
import * as venueData from './migrations/2026-12-01T0300_venue_data.js';
import * as snapshotBodies from './migrations/2026-12-01T0400_snapshot_bodies.js';
import * as publicationRuns from './migrations/2026-12-01T0500_publication_runs.js';
import * as settlements from './migrations/2026-12-01T0600_settlements.js';
import * as auditBlocks from './migrations/2026-12-03T0000_audit_blocks.js';
import * as runHistoryIndex from './migrations/2026-12-03T0100_run_history_index.js';
import * as observationBlocks from './migrations/2026-12-03T0200_observation_blocks.js';

/** Every migration, by timestamped name. New migrations are appended here and never edited. */
export const migrations: Readonly<Record<string, Migration>> = {
  '2026-11-22T2200_raw_collection': rawCollection,
  '2026-11-22T2300_fixings': fixings,
  '2026-11-23T0000_replayable_fixings': replayableFixings,
  '2026-12-01T0000_trust': trust,
  '2026-12-01T0100_machines': machines,
  '2026-12-01T0200_recovery_indexes': recoveryIndexes,
  '2026-12-01T0300_venue_data': venueData,
  '2026-12-01T0400_snapshot_bodies': snapshotBodies,
  '2026-12-01T0500_publication_runs': publicationRuns,
  '2026-12-01T0600_settlements': settlements,
  '2026-12-03T0000_audit_blocks': auditBlocks,
  '2026-12-03T0100_run_history_index': runHistoryIndex,
  '2026-12-03T0200_observation_blocks': observationBlocks,
};

export class MigrationError extends Error {
  constructor(
    readonly migration: string | undefined,
    cause: unknown,
  ) {
    super(`database migration ${migration ?? '(unknown)'} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'MigrationError';
  }
}

/** Whether every migration of this version is recorded as applied (read-only: one SELECT). */
export async function schemaIsCurrent(db: Kysely<any>): Promise<boolean> {
  try {
    const rows = await db.selectFrom('kysely_migration').select('name').execute();
    const applied = new Set(rows.map((r: { name: string }) => r.name));
    return Object.keys(migrations).every((m) => applied.has(m));
  } catch {
    return false; // no migration table yet
  }
}

export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new MigrationError(failed?.migrationName, error);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
