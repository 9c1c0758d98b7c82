// Publishes the previous UTC day's fixings on a cron schedule (default 00:30 UTC), in the one process that holds the
// publisher lease; a standby checks every minute and takes over a date its dead publisher left unfinished. A
// failure is logged and recorded as a failed run, never thrown.
import { hostname } from 'node:os';
import cron from 'node-cron';
import { isoDate } from '../methodology/fixing.js';
import { loadSettlementRule, settlementCutoff, type SettlementRule } from '../methodology/settlement.js';
import { finishPublicationRun, latestPublicationRun, monthSettled, seriesOfMonth, startPublicationRun, type PublisherLease } from '../storage/index.js';
import { fixDate, type FixDeps } from './index.js';
import { settleMonth } from './settle.js';

export interface PublisherDeps extends FixDeps {
  lease: PublisherLease;
  /** Names this process in the publication runs (default host:pid). */
  publisher?: string;
}

/** Dates this process was due to publish: added at the scheduled time, removed once a run of the date ended. */
export interface PublicationState {
  due: Set<string>;
  /** The settlement rule, read once: every tick checks whether last month is due for settlement. */
  settlementRule: SettlementRule;
  /** Whether the last tick held the lease (to log each change of role once). */
  elected: boolean | null;
}

export function newPublicationState(): PublicationState {
  return { due: new Set(), elected: null, settlementRule: loadSettlementRule() };
}

/**
 * One tick of the publisher: if this process holds (or can take) the lease, publishes every due date whose latest
 * run did not end, and takes over a date whose latest run was left `running` by a publisher that lost the lease
 * (it died: its transaction rolled back, so nothing of the date is published, or it finished and nothing changes).
 * A run that ended `failed` is not retried by the schedule: the error is logged for an operator (gpuidx fix).
 */
export async function publicationTick(deps: PublisherDeps, state: PublicationState): Promise<void> {
  const elected = await deps.lease.acquire();
  if (elected !== state.elected) {
    deps.log.info(elected ? 'publisher: this process holds the publisher lease' : 'publisher: standing by (another process holds the publisher lease)');
    state.elected = elected;
  }
  if (!elected) return;
  const latest = await latestPublicationRun(deps.db);
  if (latest?.outcome === 'running') state.due.add(latest.date);
  for (const date of [...state.due].sort()) {
    const last = await latestPublicationRun(deps.db, date);
    if (last && last.outcome !== 'running') {
      state.due.delete(date);
      continue;
    }
    if (last) deps.log.warn(`fixings ${date}: taking over the run ${last.publisher} left unfinished at ${new Date(last.started_at).toISOString()}`);
    await publishDate(deps, date);
    state.due.delete(date);
  }
  await settleDueMonth(deps, state.settlementRule);
}

/** Publishes the previous month's settlements once its cut-off has passed (checked on every tick, cheaply). */
async function settleDueMonth(deps: PublisherDeps, rule: SettlementRule): Promise<void> {
  const now = deps.clock();
  const d = new Date(now);
  const month = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
  if (now < settlementCutoff(month, rule) || (await monthSettled(deps.db, month))) return;
  if ((await seriesOfMonth(deps.db, month)).length === 0) return;
  try {
    const outcomes = await settleMonth(deps, { month });
    deps.log.info(`settlements ${month}: ${outcomes.filter((o) => o.action === 'published').length} published`);
  } catch (err) {
    deps.log.error(`settlements ${month}: failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function publishDate(deps: PublisherDeps, date: string): Promise<void> {
  const publisher = deps.publisher ?? `${hostname()}:${process.pid}`;
  const runId = await startPublicationRun(deps.db, date, publisher, deps.clock());
  try {
    const outcomes = await fixDate(deps, { date });
    const published = outcomes.filter((o) => o.action === 'published').length;
    const refused = outcomes.filter((o) => o.action === 'needs_restatement');
    const unchanged = outcomes.length - published - refused.length;
    await finishPublicationRun(deps.db, runId, { finishedAt: deps.clock(), outcome: 'ok', published, unchanged, refused: refused.length, error: null });
    deps.log.info(`fixings ${date}: ${published} published, ${unchanged} unchanged`);
    for (const o of refused) deps.log.warn(`fixings ${date}: ${o.series} ${o.action === 'needs_restatement' ? o.detail : ''}`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    deps.log.error(`fixings ${date}: failed: ${message}`);
    await finishPublicationRun(deps.db, runId, { finishedAt: deps.clock(), outcome: 'failed', published: 0, unchanged: 0, refused: 0, error: message }).catch(
      (e: unknown) => deps.log.error(`fixings ${date}: could not record the failed run: ${e instanceof Error ? e.message : String(e)}`),
    );
  }
}

export function schedulePublication(deps: PublisherDeps, schedule: string): { stop(): Promise<void> } {
  const state = newPublicationState();
  let running: Promise<void> | null = null;
  const tick = async () => {
    if (running) return;
    running = publicationTick(deps, state)
      .catch((err: unknown) => deps.log.error(`publisher: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => (running = null));
    await running;
  };
  const daily = cron.schedule(
    schedule,
    async () => {
      state.due.add(isoDate(deps.clock() - 86_400_000));
      await tick();
    },
    { name: 'publish-fixings', timezone: 'Etc/UTC' },
  );
  // The standby's watch (and the publisher's own retry of the lease after a lost connection).
  const watch = cron.schedule('* * * * *', tick, { name: 'publisher-watch', timezone: 'Etc/UTC' });
  deps.log.info(`fixings: publishing the previous UTC day at "${schedule}" (UTC) from the process holding the publisher lease`);
  void tick();
  return {
    async stop() {
      await daily.stop();
      await watch.stop();
      await running;
      await deps.lease.release();
    },
  };
}
