// GET /v1/health: the database reachable (and which engine), the scheduled publisher's last run, the last
// successful run per venue and the latest date per series; 503 naming each problem.
import { createRoute } from '@hono/zod-openapi';
import type { HealthPolicy } from '../app.js';
import {
  degradedVenues,
  dialectOf,
  lastSuccessfulRuns,
  latestPublicationRun,
  newestSnapshotAt,
  pendingSummary,
  ping,
  seriesSummaries,
  type Db,
} from '../../storage/index.js';
import { reusedFor, strongEtag } from '../cache.js';
import { DAY_MS, ISO, routeApp, sendCachedJson } from '../http.js';
import { json } from '../responses.js';
import * as s from '../schemas.js';

/** The health response, as /openapi.json declares it. */
type Health = s.z.infer<typeof s.healthSchema>;

export function healthRoutes({ db, clock, policy: health, ttlMs: latestTtlMs }: { db: Db; clock: () => number; policy: HealthPolicy; ttlMs: number }) {
  const app = routeApp();
  // Load balancers and monitors poll health hard: its queries run at most once per TTL (default 1 s), and
  // `checked_at` says when they last ran.
  const checkHealth = async () => {
    await ping(db);
    const now = clock();
    const venues = await lastSuccessfulRuns(db);
    const summaries = await seriesSummaries(db);
    const series = [...summaries].map(([code, x]) => ({ series: code, latest_date: x.latest.date })).sort((a, b) => (a.series < b.series ? -1 : 1));
    const problems: string[] = [];
    // Fresh data may come from a collector run or from an imported partner file.
    // A claimed instant beyond our clock (a bad import from before the bounds existed) is not fresh data.
    const newestData = Math.max(...venues.map((v) => v.finished_at).filter((t) => t <= now), (await newestSnapshotAt(db, now)) ?? -Infinity);
    const pending = await pendingSummary(db);
    // A venue whose latest run collapsed in yield is down in all but name: say so, with the run's own words.
    for (const d of await degradedVenues(db)) problems.push(`${d.venue}: latest run (${ISO(d.finished_at)}) is degraded: ${d.warning}`);
    if (pending.count > 0) {
      problems.push(
        `${pending.count} snapshot(s) are stuck pending from snapshot ${pending.oldest}: fixings cannot read data newer than snapshot ${(pending.oldest ?? 1) - 1} until a writer (gpuidx collect, import or fix) recovers them`,
      );
    }
    const lastRun = await latestPublicationRun(db);
    if (lastRun?.outcome === 'failed')
      problems.push(`the latest publication run (${lastRun.date}, by ${lastRun.publisher}) failed: ${lastRun.error ?? 'no reason recorded'}`);
    if (newestData === -Infinity) problems.push('no data collected or imported yet');
    else if (now - newestData > health.max_collection_age_minutes * 60_000)
      problems.push(`newest data arrived ${ISO(newestData)}, more than ${health.max_collection_age_minutes} minutes ago`);
    // biome-ignore lint/complexity/useMathMinMax: ISO date strings, compared as text; Math.max would make them NaN
    const newestDate = series.reduce((m, x) => (x.latest_date > m ? x.latest_date : m), '');
    if (!newestDate) problems.push('no fixing published yet');
    else if (now - (Date.parse(`${newestDate}T00:00:00Z`) + DAY_MS) > health.max_fixing_age_hours * 3_600_000)
      problems.push(`newest fixing is for ${newestDate}, which ended more than ${health.max_fixing_age_hours} hours ago`);
    const body = {
      status: problems.length ? ('stale' as const) : ('ok' as const),
      checked_at: ISO(now),
      database: 'ok' as const,
      engine: dialectOf(db),
      problems,
      publisher: lastRun
        ? {
            date: lastRun.date,
            publisher: lastRun.publisher,
            outcome: lastRun.outcome,
            started_at: ISO(lastRun.started_at),
            finished_at: lastRun.finished_at === null ? null : ISO(lastRun.finished_at),
            published: lastRun.published,
            unchanged: lastRun.unchanged,
            refused: lastRun.refused,
          }
        : null,
      venues: venues.map((v) => ({ venue: v.venue, last_success: ISO(v.finished_at) })),
      series,
    };
    return body;
  };
  // The check and its serialized answer (with its ETag, and gzip made on first need), kept together for the TTL (a
  // failed check is not kept).
  const healthOf = reusedFor(latestTtlMs, async () => {
    const body = await checkHealth();
    const text = JSON.stringify(body);
    return { stale: body.problems.length > 0, entry: { body: text, etag: strongEtag(text) } };
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/health',
      summary:
        "Database reachable (and which engine), the scheduled publisher's last run, last successful run per venue, latest fixing date per series; 503 when data or fixings are stale or the last publication run failed",
      request: { query: s.noQuery },
      responses: { 200: json(s.healthSchema, 'fresh'), 503: json(s.healthSchema, 'stale') },
    }),
    async (c) => {
      const answer = await healthOf();
      c.header('cache-control', 'no-store');
      c.header('content-type', 'application/json');
      return answer.stale ? sendCachedJson<Health, 503>(c, answer.entry, 503) : sendCachedJson<Health>(c, answer.entry, 200);
    },
  );

  return app;
}
