// Publishes the previous UTC day's fixings on a cron schedule (default 00:30 UTC); a failure is logged, never thrown.
import cron from 'node-cron';
import { isoDate } from '../methodology/fixing.js';
import { fixDate, type FixDeps } from './index.js';

export function schedulePublication(deps: FixDeps, schedule: string): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const publish = async () => {
    const date = isoDate(deps.clock() - 86_400_000);
    try {
      const outcomes = await fixDate(deps, { date });
      const published = outcomes.filter((o) => o.action === 'published').length;
      const refused = outcomes.filter((o) => o.action === 'needs_restatement');
      deps.log.info(`fixings ${date}: ${published} published, ${outcomes.length - published - refused.length} unchanged`);
      for (const o of refused) deps.log.warn(`fixings ${date}: ${o.series} ${o.action === 'needs_restatement' ? o.detail : ''}`);
    } catch (err) {
      deps.log.error(`fixings ${date}: failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const task = cron.schedule(
    schedule,
    async () => {
      if (running) return;
      running = publish().finally(() => (running = null));
      await running;
    },
    { name: 'publish-fixings', timezone: 'Etc/UTC' },
  );
  deps.log.info(`fixings: publishing the previous UTC day at "${schedule}" (UTC)`);
  return {
    async stop() {
      await task.stop();
      await running;
    },
  };
}
