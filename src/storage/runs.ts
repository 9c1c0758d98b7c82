// Repository for collector runs: one row per venue per scheduled or manual collection.
import type { Db } from './db.js';
import type { CollectorRun, PublicationOutcome, PublicationRun, RunOutcome } from './schema.js';

export async function startRun(db: Db, venue: string, startedAt: number): Promise<number> {
  const row = await db
    .insertInto('collector_runs')
    .values({ venue, started_at: startedAt, outcome: 'running', attempts: 0, snapshots: 0, observations: 0 })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface RunEnd {
  finishedAt: number;
  attempts: number;
  outcome: Exclude<RunOutcome, 'running'>;
  error: string | null;
  snapshots: number;
  observations: number;
  /** Why the run is degraded (the yield watch); null otherwise. */
  warning?: string | null;
}

export async function finishRun(db: Db, runId: number, end: RunEnd): Promise<void> {
  await db
    .updateTable('collector_runs')
    .set({
      finished_at: end.finishedAt,
      attempts: end.attempts,
      outcome: end.outcome,
      error: end.error,
      snapshots: end.snapshots,
      observations: end.observations,
      warning: end.warning ?? null,
    })
    .where('id', '=', runId)
    .execute();
}

/** Records a venue that was not collected at all (for example, its API key is not set). */
export async function recordSkippedRun(db: Db, venue: string, at: number, reason: string): Promise<void> {
  await db
    .insertInto('collector_runs')
    .values({ venue, started_at: at, finished_at: at, outcome: 'skipped', error: reason, attempts: 0, snapshots: 0, observations: 0 })
    .execute();
}

export async function listRuns(db: Db, venue?: string): Promise<CollectorRun[]> {
  let q = db.selectFrom('collector_runs').selectAll().orderBy('id');
  if (venue) q = q.where('venue', '=', venue);
  return q.execute();
}

/**
 * Observations of the venue's latest `ok` or `partial` runs before `beforeRunId` that stored snapshots, newest
 * first. Degraded runs are left out, so a collapse that lasts stays degraded instead of becoming the new normal.
 */
export async function recentYields(db: Db, venue: string, beforeRunId: number, limit: number): Promise<number[]> {
  const rows = await db
    .selectFrom('collector_runs')
    .select('observations')
    .where('venue', '=', venue)
    .where('id', '<', beforeRunId)
    .where('outcome', 'in', ['ok', 'partial'])
    .where('snapshots', '>', 0)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => r.observations);
}

/** Records that `publisher` started publishing `date`; returns the run's id. */
export async function startPublicationRun(db: Db, date: string, publisher: string, startedAt: number): Promise<number> {
  const { id } = await db
    .insertInto('publication_runs')
    .values({ date, publisher, started_at: startedAt, outcome: 'running', published: 0, unchanged: 0, refused: 0, error: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

export async function finishPublicationRun(
  db: Db,
  id: number,
  end: { finishedAt: number; outcome: Exclude<PublicationOutcome, 'running'>; published: number; unchanged: number; refused: number; error: string | null },
): Promise<void> {
  await db
    .updateTable('publication_runs')
    .set({ finished_at: end.finishedAt, outcome: end.outcome, published: end.published, unchanged: end.unchanged, refused: end.refused, error: end.error })
    .where('id', '=', id)
    .execute();
}

/** The latest publication run of a date, or of any date when none is given. */
export async function latestPublicationRun(db: Db, date?: string): Promise<PublicationRun | undefined> {
  let q = db.selectFrom('publication_runs').selectAll().orderBy('id', 'desc').limit(1);
  if (date !== undefined) q = q.where('date', '=', date);
  return q.executeTakeFirst();
}
