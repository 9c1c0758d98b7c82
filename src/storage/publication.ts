// Read-only queries behind the publication API: series summaries, fixing history and revisions, audit pages,
// snapshot metadata and health facts. Every query reads published (append-only) rows only.
import { sql } from 'kysely';
import type { Db } from './db.js';
import { auditBlocks, auditRowAt, auditRowCount, type AuditRowValues } from './audit-blocks.js';
import { ObservationBlockError, observationAt, storedObservationBlocks, type GpuName } from './observation-blocks.js';
import type { Fixing, Observation } from './schema.js';

/** First and latest fixing date of every series that has one, with the latest revision of its latest date. */
export async function seriesSummaries(db: Db): Promise<Map<string, { first: string; latest: Fixing }>> {
  const [bounds, latest] = await Promise.all([
    db
      .selectFrom('fixings')
      .select(['series', (eb) => eb.fn.min('date').as('first')])
      .groupBy('series')
      .execute(),
    // Every revision of each series' latest date, highest revision first: the first row per series is its latest.
    db
      .selectFrom('fixings as f')
      .selectAll('f')
      .where('f.date', '=', (eb) =>
        eb
          .selectFrom('fixings as g')
          .select((e) => e.fn.max('g.date').as('d'))
          .whereRef('g.series', '=', 'f.series'),
      )
      .orderBy('f.series')
      .orderBy('f.revision', 'desc')
      .execute(),
  ]);
  const first = new Map(bounds.map((b) => [b.series, b.first]));
  const out = new Map<string, { first: string; latest: Fixing }>();
  for (const row of latest) if (!out.has(row.series)) out.set(row.series, { first: first.get(row.series)!, latest: row });
  return out;
}

/** One fixing: the given revision, or the latest revision of the date (published by `asOf`, UTC ms, when given). */
export async function fixingAt(db: Db, series: string, date: string, revision?: number, asOf?: number): Promise<Fixing | undefined> {
  let q = db.selectFrom('fixings').selectAll().where('series', '=', series).where('date', '=', date);
  if (asOf !== undefined) q = q.where('computed_at', '<=', asOf);
  q = revision === undefined ? q.orderBy('revision', 'desc').limit(1) : q.where('revision', '=', revision);
  return q.executeTakeFirst();
}

/** The latest revision of the latest date of a series (of what was published by `asOf`, UTC ms, when given). */
export async function latestFixingOf(db: Db, series: string, asOf?: number): Promise<Fixing | undefined> {
  let q = db.selectFrom('fixings').selectAll().where('series', '=', series);
  if (asOf !== undefined) q = q.where('computed_at', '<=', asOf);
  return q.orderBy('date', 'desc').orderBy('revision', 'desc').limit(1).executeTakeFirst();
}

/** Every series' latest revision of a date (as published by `asOf`, UTC ms, when given), in series order. */
export async function crossSection(db: Db, date: string, asOf?: number): Promise<Fixing[]> {
  let q = db.selectFrom('fixings').selectAll().where('date', '=', date);
  if (asOf !== undefined) q = q.where('computed_at', '<=', asOf);
  const rows = await q.orderBy('series').orderBy('revision', 'desc').execute();
  return rows.filter((r, i) => i === 0 || rows[i - 1]!.series !== r.series);
}

/** The changes feed: revisions published after `since` (UTC ms), in publication order, after the cursor `afterId`. */
export async function revisionsSince(db: Db, since: number, afterId: number, limit: number): Promise<Fixing[]> {
  return db.selectFrom('fixings').selectAll().where('computed_at', '>', since).where('id', '>', afterId).orderBy('id').limit(limit).execute();
}

/** Every revision of a date, oldest first. */
export async function fixingRevisions(db: Db, series: string, date: string): Promise<Fixing[]> {
  return db.selectFrom('fixings').selectAll().where('series', '=', series).where('date', '=', date).orderBy('revision').execute();
}

/** History in [from, to] (dates inclusive): the id of the latest revision of each date (published by `asOf`), oldest date first. */
export async function fixingHistoryIds(db: Db, series: string, from: string, to: string, asOf?: number): Promise<number[]> {
  let q = db.selectFrom('fixings').select(['id', 'date']).where('series', '=', series).where('date', '>=', from).where('date', '<=', to);
  if (asOf !== undefined) q = q.where('computed_at', '<=', asOf);
  const rows = await q.orderBy('date').orderBy('revision', 'desc').execute();
  // Highest revision first within a date: keep the first row of each date.
  return rows.filter((r, i) => i === 0 || rows[i - 1]!.date !== r.date).map((r) => r.id);
}

/** The id of the newest fixing revision stored (0 when none): it changes with every publication and restatement. */
export async function newestFixingId(db: Db): Promise<number> {
  const r = await db
    .selectFrom('fixings')
    .select((eb) => eb.fn.max('id').as('id'))
    .executeTakeFirst();
  return r?.id ?? 0;
}

/** Fixing rows by id, in no particular order, with all their columns or the ones named. */
export async function fixingsByIds(db: Db, ids: readonly number[]): Promise<Fixing[]>;
export async function fixingsByIds<C extends keyof Fixing>(db: Db, ids: readonly number[], columns: readonly C[]): Promise<Pick<Fixing, C>[]>;
export async function fixingsByIds(db: Db, ids: readonly number[], columns?: readonly (keyof Fixing)[]): Promise<Partial<Fixing>[]> {
  const out: Partial<Fixing>[] = [];
  // A bounded IN list per query (SQLite caps bound parameters).
  for (let i = 0; i < ids.length; i += 500) {
    const q = db.selectFrom('fixings').where('id', 'in', ids.slice(i, i + 500));
    out.push(...(await (columns ? q.select(columns) : q.selectAll()).execute()));
  }
  return out;
}

/** An audit row with the observation it weighs, as the audit API pages it. */
export interface AuditInputRow extends AuditRowValues {
  venue: string;
  fetched_at: number;
  listing_id: string;
  gpu_raw: string;
  gpu_count: number;
  price_usd_per_hour: number;
  contract: string;
}

/**
 * A page of a fixing's audit rows in observation id order, after the given observation id; `venue` and `outcome`
 * (`included` or an exclusion reason) filter it. The blocks are decoded one at a time until the page is full; the
 * observations and snapshots of the page's rows are then read by id.
 */
export async function auditPage(
  db: Db,
  fixingId: number,
  afterObservationId: number,
  limit: number,
  filter: { venue?: string | undefined; outcome?: string | undefined } = {},
): Promise<AuditInputRow[]> {
  const picked: AuditRowValues[] = [];
  const snapshots = new Map<number, { venue: string; fetched_at: number }>();
  const readSnapshots = async (ids: Iterable<number>) => {
    const missing = [...new Set(ids)].filter((id) => !snapshots.has(id));
    for (let i = 0; i < missing.length; i += 500) {
      for (const s of await db
        .selectFrom('snapshots')
        .select(['id', 'venue', 'fetched_at'])
        .where('id', 'in', missing.slice(i, i + 500))
        .execute())
        snapshots.set(s.id, s);
    }
  };
  for await (const block of auditBlocks(db, fixingId, afterObservationId)) {
    if (filter.venue !== undefined) await readSnapshots(block.snapshotId);
    for (let k = 0; k < block.length && picked.length < limit; k++) {
      if (block.observationId[k]! <= afterObservationId) continue;
      const outcome = block.outcomes[block.outcome[k]!]!;
      if (filter.outcome !== undefined && outcome !== filter.outcome) continue;
      if (filter.venue !== undefined && snapshots.get(block.snapshotId[k]!)?.venue !== filter.venue) continue;
      picked.push(auditRowAt(block, k));
    }
    if (picked.length === limit) break;
  }
  await readSnapshots(picked.map((r) => r.snapshot_id));
  // The page's observations, from their snapshots' blocks.
  const observations = new Map<number, Pick<Observation, 'listing_id' | 'gpu_raw' | 'gpu_count' | 'price_usd_per_hour' | 'contract'>>();
  const wanted = new Set(picked.map((r) => r.observation_id));
  for await (const { snapshotId, firstId, read } of storedObservationBlocks(db, [...new Set(picked.map((r) => r.snapshot_id))])) {
    if (!read.ok) throw new ObservationBlockError(snapshotId, read.reason);
    for (let k = 0; k < read.block.length; k++) {
      const id = firstId + read.block.idOffset[k]!;
      if (wanted.has(id)) observations.set(id, observationAt(read.block, k, snapshotId, firstId));
    }
  }
  // A row whose observation or snapshot is gone (removed behind the triggers' back) cannot be shown; verify names it.
  return picked.flatMap((r) => {
    const o = observations.get(r.observation_id);
    const s = snapshots.get(r.snapshot_id);
    if (!o || !s) return [];
    return [{ ...r, venue: s.venue, fetched_at: s.fetched_at, ...o }];
  });
}

export const auditCount = auditRowCount;

/** The instant of the latest successful (ok or partial) collector run of every venue. */
export async function lastSuccessfulRuns(db: Db): Promise<{ venue: string; finished_at: number }[]> {
  const rows = await db
    .selectFrom('collector_runs')
    .select(['venue', (eb) => eb.fn.max('finished_at').as('finished_at')])
    .where('outcome', 'in', ['ok', 'partial'])
    .groupBy('venue')
    .orderBy('venue')
    .execute();
  return rows.filter((r): r is { venue: string; finished_at: number } => r.finished_at !== null);
}

/** Each venue whose latest finished run is `degraded`, with the run's warning (the yield watch). */
export async function degradedVenues(db: Db): Promise<{ venue: string; finished_at: number; warning: string }[]> {
  const latest = db
    .selectFrom('collector_runs')
    .select(['venue', (eb) => eb.fn.max('id').as('id')])
    .where('finished_at', 'is not', null)
    .where('outcome', '<>', 'skipped')
    .groupBy('venue');
  const rows = await db
    .selectFrom('collector_runs as r')
    .innerJoin(latest.as('l'), 'l.id', 'r.id')
    .select(['r.venue', 'r.finished_at', 'r.warning'])
    .where('r.outcome', '=', 'degraded')
    .orderBy('r.venue')
    .execute();
  return rows.map((r) => ({ venue: r.venue, finished_at: r.finished_at ?? 0, warning: r.warning ?? 'degraded' }));
}

/** The fetch instant of the newest stored snapshot, collected or imported, not later than `notAfter`. */
export async function newestSnapshotAt(db: Db, notAfter = Number.MAX_SAFE_INTEGER): Promise<number | null> {
  const r = await db
    .selectFrom('snapshots')
    .select((eb) => eb.fn.max('fetched_at').as('t'))
    .where('fetched_at', '<=', notAfter)
    .executeTakeFirst();
  return r?.t ?? null;
}

/** Whether the database answers. */
export async function ping(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}

/**
 * How often each venue reported each raw GPU name (with the memory it gave), and when it was last seen, for the
 * unmapped-names report: from each observation block's summary of its names, a batch of snapshots at a time.
 */
export async function rawGpuNames(db: Db): Promise<{ venue: string; gpu_raw: string; gpu_memory_gb: number | null; n: number; last_seen: number }[]> {
  const names = new Map<string, { venue: string; gpu_raw: string; gpu_memory_gb: number | null; n: number; last_seen: number }>();
  let after = 0;
  for (;;) {
    const blocks = await db
      .selectFrom('snapshots as s')
      .innerJoin('observation_blocks as b', 'b.snapshot_id', 's.id')
      .select(['s.id', 's.venue', 's.fetched_at', 'b.gpu_names'])
      .where('s.id', '>', after)
      .orderBy('s.id')
      .limit(5000)
      .execute();
    if (blocks.length === 0) break;
    after = blocks[blocks.length - 1]!.id;
    for (const s of blocks) {
      for (const [gpu_raw, gpu_memory_gb, n] of JSON.parse(s.gpu_names) as GpuName[]) {
        const key = JSON.stringify([s.venue, gpu_raw, gpu_memory_gb]);
        const entry = names.get(key) ?? { venue: s.venue, gpu_raw, gpu_memory_gb, n: 0, last_seen: s.fetched_at };
        entry.n += n;
        entry.last_seen = Math.max(entry.last_seen, s.fetched_at);
        names.set(key, entry);
      }
    }
  }
  return [...names.values()];
}
