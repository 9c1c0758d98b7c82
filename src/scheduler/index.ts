// Runs each enabled venue on its own cron cadence (UTC), never two runs of one venue at once, and stops cleanly.
import cron, { type ScheduledTask } from 'node-cron';
import type { VenueAdapter, VenueBaseConfig } from '../collectors/adapter.js';
import type { HttpPolicy } from '../collectors/http.js';
import { collectVenue, type CollectorDeps, type RunSummary } from '../collectors/runner.js';

export interface ScheduledVenue {
  adapter: VenueAdapter<VenueBaseConfig>;
  config: VenueBaseConfig;
}

export interface CollectorSchedule {
  /** Runs one venue now unless it is already running; resolves with its summary, or null when skipped. */
  trigger(venue: string): Promise<RunSummary | null>;
  /** Stops the timers and waits for runs in flight to finish writing. */
  stop(): Promise<void>;
}

export function scheduleCollectors(deps: CollectorDeps, venues: ScheduledVenue[], policy: HttpPolicy): CollectorSchedule {
  const inFlight = new Map<string, Promise<RunSummary>>();
  const byName = new Map(venues.map((v) => [v.adapter.venue, v]));
  let stopping = false;

  const trigger = async (venue: string): Promise<RunSummary | null> => {
    const v = byName.get(venue);
    if (!v || stopping) return null;
    if (inFlight.has(venue)) {
      deps.log.warn(`${venue}: previous run still in progress; this tick is skipped`);
      return null;
    }
    const run = collectVenue(deps, v.adapter, v.config, policy).finally(() => inFlight.delete(venue));
    inFlight.set(venue, run);
    return run;
  };

  const tasks: ScheduledTask[] = venues.map((v) =>
    cron.schedule(
      v.config.schedule,
      async () => {
        await trigger(v.adapter.venue);
      },
      { name: `collect-${v.adapter.venue}`, timezone: 'Etc/UTC' },
    ),
  );
  for (const v of venues) deps.log.info(`${v.adapter.venue}: scheduled "${v.config.schedule}" (UTC)`);

  return {
    trigger,
    async stop() {
      stopping = true;
      await Promise.all(tasks.map((t) => t.stop()));
      await Promise.allSettled([...inFlight.values()]);
    },
  };
}
