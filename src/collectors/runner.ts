// Collects one venue: build its requests, fetch with retries, ingest every response raw-first, follow pages, record the run.
import { setTimeout as sleepTimer } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { Logger } from '../log/index.js';
import { finishRun, recentYields, recordSkippedRun, startRun, type Db } from '../storage/index.js';
import type { VenueAdapter, VenueBaseConfig } from './adapter.js';
import { decideRetry, fetchOnce, type FetchFn, type HttpPolicy, type HttpRequestSpec } from './http.js';
import { ingestBody } from './ingest.js';
import type { Redactor } from './redact.js';
import { YIELD_WATCH, yieldWarning } from './yield.js';

export interface CollectorDeps {
  db: Db;
  fetch: FetchFn;
  dispatcher?: Dispatcher;
  clock: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  log: Logger;
  redactor: Redactor;
  env: Record<string, string | undefined>;
  /** Aborted on SIGTERM: in-flight requests stop, whatever was received is still written. */
  shutdown?: AbortSignal;
}

export type RunOutcome = 'ok' | 'partial' | 'degraded' | 'failed' | 'skipped';

export interface RunSummary {
  venue: string;
  runId: number | null;
  outcome: RunOutcome;
  attempts: number;
  snapshots: number;
  observations: number;
  error: string | null;
  /** Why the run is `degraded` (the yield watch), else null. */
  warning: string | null;
}

export const realSleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
  await sleepTimer(ms, undefined, signal ? { signal } : undefined).catch(() => undefined);
};

export async function collectVenue(
  deps: CollectorDeps,
  adapter: VenueAdapter<VenueBaseConfig>,
  config: VenueBaseConfig,
  policy: HttpPolicy,
): Promise<RunSummary> {
  const venue = adapter.venue;
  const key = adapter.apiKeyEnv ? deps.env[adapter.apiKeyEnv] || undefined : undefined;
  if (adapter.keyRequired && !key) {
    const reason = `${adapter.apiKeyEnv} is not set`;
    deps.log.warn(`${venue}: skipped, ${reason}`);
    await recordSkippedRun(deps.db, venue, deps.clock(), reason);
    return { venue, runId: null, outcome: 'skipped', attempts: 0, snapshots: 0, observations: 0, error: reason, warning: null };
  }

  const summary: RunSummary = { venue, runId: null, outcome: 'ok', attempts: 0, snapshots: 0, observations: 0, error: null, warning: null };
  const errors: string[] = [];
  let partial = false;
  // The run's ignored rows, for the yield watch (its observations are the summary's); a repeated body cannot be judged by it.
  const yielded = { rowsIgnored: 0, ignoredReasons: {} as Record<string, number>, duplicates: 0 };
  try {
    // Every page and request of one run is one sample of the venue: its snapshots share the run's start
    // instant as fetched_at, so that the methodology's time weights (step 5) see one instant per run.
    const sampledAt = deps.clock();
    summary.runId = await startRun(deps.db, venue, sampledAt);
    const queue: HttpRequestSpec[] = adapter.buildRequests(config, key);
    let pages = 0;
    while (queue.length > 0 && !deps.shutdown?.aborted) {
      const spec = queue.shift()!;
      pages += 1;
      const url = deps.redactor.url(spec.url);
      for (let attempt = 1; ; attempt++) {
        const result = await fetchOnce(deps.fetch, spec, policy, deps.dispatcher, deps.shutdown);
        summary.attempts += 1;
        if (result.kind === 'response') {
          const ingested = await ingestBody(deps.db, {
            venue,
            fetchedAt: sampledAt,
            source: 'http',
            requestMethod: spec.method,
            requestUrl: url,
            requestBody: spec.body === undefined ? null : deps.redactor.text(spec.body),
            received: { status: result.status, contentType: result.contentType, body: result.body, truncated: result.truncated },
            parserVersion: adapter.parserVersion,
            parserOptions: { default_quantity: config.default_quantity, strip_bom: true },
            parse: adapter.parse,
            runId: summary.runId,
            redactor: deps.redactor,
            receivedAt: deps.clock(),
          });
          if (!ingested.duplicate) summary.snapshots += 1;
          else yielded.duplicates += 1;
          summary.observations += ingested.observations;
          yielded.rowsIgnored += ingested.rowsIgnored;
          for (const [reason, n] of Object.entries(ingested.ignoredReasons)) yielded.ignoredReasons[reason] = (yielded.ignoredReasons[reason] ?? 0) + n;
          if (result.status >= 200 && result.status <= 299) {
            if (ingested.outcome === 'rejected') errors.push(`snapshot ${ingested.snapshotId} rejected: ${ingested.error}`);
            if (ingested.outcome === 'partial') {
              partial = true;
              deps.log.warn(`${venue}: snapshot ${ingested.snapshotId} partial: ${ingested.error}`);
            }
            const next = ingested.outcome === 'rejected' ? null : (adapter.nextPage?.(ingested.json, spec) ?? null);
            if (next) {
              if (pages >= config.max_pages) errors.push(`stopped after max_pages=${config.max_pages}; more pages remain`);
              else queue.unshift(next);
            }
            break;
          }
        }
        const decision = decideRetry(result, attempt, policy, deps.random, deps.clock());
        if (!decision.retry) {
          errors.push(`${spec.method} ${url}: ${decision.why}`);
          break;
        }
        deps.log.warn(`${venue}: attempt ${attempt} failed (${decision.why}); retrying in ${decision.delayMs} ms`);
        await deps.sleep(decision.delayMs, deps.shutdown);
        if (deps.shutdown?.aborted) {
          errors.push('shutting down: retry abandoned');
          break;
        }
      }
    }
  } catch (err) {
    // Unexpected (a database fault, a bug): recorded against this venue alone, never thrown to the scheduler.
    errors.push(`unexpected error: ${err instanceof Error ? err.message : String(err)}`);
  }

  summary.outcome = errors.length > 0 ? 'failed' : partial ? 'partial' : 'ok';
  summary.error = errors.length > 0 ? deps.redactor.text(errors.join(' | ')) : null;
  if (summary.outcome !== 'failed' && summary.runId !== null && yielded.duplicates === 0) {
    try {
      const trailing = await recentYields(deps.db, venue, summary.runId, YIELD_WATCH.trailingRuns);
      summary.warning = yieldWarning(
        { observations: summary.observations, rowsIgnored: yielded.rowsIgnored, ignoredReasons: yielded.ignoredReasons },
        trailing,
      );
      if (summary.warning) summary.outcome = 'degraded';
    } catch (err) {
      deps.log.error(`${venue}: could not compare the run's yield: ${(err as Error).message}`);
    }
  }
  try {
    if (summary.runId !== null) {
      await finishRun(deps.db, summary.runId, {
        finishedAt: deps.clock(),
        attempts: summary.attempts,
        outcome: summary.outcome,
        error: summary.error,
        snapshots: summary.snapshots,
        observations: summary.observations,
        warning: summary.warning,
      });
    }
  } catch (err) {
    deps.log.error(`${venue}: could not record the run: ${(err as Error).message}`);
  }
  const line = `${venue}: ${summary.outcome}, ${summary.snapshots} snapshot(s), ${summary.observations} observation(s), ${summary.attempts} attempt(s)`;
  if (summary.outcome === 'failed') deps.log.error(`${line}: ${summary.error}`);
  else if (summary.outcome === 'degraded') deps.log.warn(`${line}: ${summary.warning}`);
  else deps.log.info(line);
  return summary;
}

/** Collects several venues side by side; each venue's failure stays its own. */
export async function collectVenues(
  deps: CollectorDeps,
  venues: { adapter: VenueAdapter<VenueBaseConfig>; config: VenueBaseConfig }[],
  policy: HttpPolicy,
): Promise<RunSummary[]> {
  return Promise.all(venues.map((v) => collectVenue(deps, v.adapter, v.config, policy)));
}
