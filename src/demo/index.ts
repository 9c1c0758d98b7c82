// The whole pipeline on a simulated month: the market simulator on loopback, the real collectors pointed at it
// through ordinary configuration, every simulated day fixed and published. No path between fetch and fixing is
// demo-only: the simulated clock is the collectors' injected clock, and retries wait in simulated time.
import { rmSync } from 'node:fs';
import { collectVenues, type RunSummary } from '../collectors/runner.js';
import { createDispatcher, globalFetch } from '../collectors/http.js';
import { createRedactor } from '../collectors/redact.js';
import { VENUES, type VenueName } from '../collectors/venues/index.js';
import type { VenueAdapter, VenueBaseConfig } from '../collectors/adapter.js';
import { parseConfig, type Config } from '../config/index.js';
import { fixDate } from '../fixer/index.js';
import type { Logger } from '../log/index.js';
import type { Signer } from '../signing/index.js';
import { MS, unit } from '../simulator/market.js';
import { defaultFaults, startSimulator, type Fault, type Simulator } from '../simulator/server.js';
import { openDatabase, type Db } from '../storage/index.js';

export interface DemoOptions {
  dbPath: string;
  days: number;
  seed: number;
  /** Marketplace listings multiplier. */
  scale: number;
  /** The simulated window ends at the start of this instant's UTC day (see `demoWindowEnd`). */
  now: number;
  log: Logger;
  /** Signs the demo's fixings when they are published. */
  signer: Signer;
  /** Fix every simulated day with this methodology version (default: the one in force on each date). */
  methodologyVersion?: string;
  cadenceMinutes?: number;
  faults?: (firstDay: number) => Fault[];
  progress?: (phase: 'collect' | 'fix', done: number, total: number, detail: string) => void;
}

export interface DemoResult {
  db: Db;
  config: Config;
  firstDate: string;
  lastDate: string;
  runs: Record<RunSummary['outcome'], number>;
  snapshots: number;
  observations: number;
  published: number;
  /** Wall time of the collection (simulator and collectors) and of the fixing, in seconds. */
  seconds: { collect: number; fix: number };
}

/** Not secrets: the simulator wants a bearer token where the real venue does. */
export const DEMO_KEYS = { RUNPOD_API_KEY: 'simulated-runpod-key', LAMBDA_API_KEY: 'simulated-lambda-key', TENSORDOCK_API_KEY: 'simulated-tensordock-key' };

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Where the demo's simulated window ends (exclusive, a UTC midnight): the start of today, unless the newest
 * methodology takes effect so recently (or on a later date) that its first days would be missing; then the
 * window runs on to that many days past its effective date, so the demo always shows the change of methodology.
 * The simulated clock is the collectors' and the fixer's, so those days are collected and fixed as any other.
 */
export function demoWindowEnd(now: number, days: number, newestEffectiveFrom: string): number {
  const today = Math.floor(now / MS.DAY) * MS.DAY;
  const shown = Math.max(1, Math.min(7, Math.floor(days / 4)));
  return Math.max(today, Date.parse(`${newestEffectiveFrom}T00:00:00Z`) + shown * MS.DAY);
}

/** The configuration the demo runs the collectors with: every venue's base_url is the simulator. */
export function demoConfig(simulatorUrl: string, cadenceMinutes: number): Config {
  const venue = { base_url: simulatorUrl, schedule: `*/${cadenceMinutes} * * * *` };
  return parseConfig(
    {
      // Retries wait in simulated time, so the backoff can be the real one.
      http: { max_attempts: 3 },
      venues: { vast: venue, runpod: venue, lambda: venue, tensordock: venue, akash: venue, azure: { ...venue, regions: ['eastus', 'westeurope'] } },
    },
    'demo configuration',
  );
}

/** Starts from an empty database at `dbPath`, backfills the simulated days and publishes each day's fixings. */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${opts.dbPath}${suffix}`, { force: true });
  const db = await openDatabase(opts.dbPath);
  const cadence = (opts.cadenceMinutes ?? 10) * 60_000;
  const lastDayEnd = Math.floor(opts.now / MS.DAY) * MS.DAY;
  const firstDay = lastDayEnd - opts.days * MS.DAY;
  let simTime = firstDay;
  let simulator: Simulator | null = null;
  try {
    simulator = await startSimulator({ seed: opts.seed, scale: opts.scale, clock: () => simTime, faults: (opts.faults ?? defaultFaults)(firstDay) });
    const config = demoConfig(simulator.url, opts.cadenceMinutes ?? 10);
    let draws = 0;
    const deps = {
      db,
      fetch: globalFetch,
      dispatcher: await createDispatcher(config.http),
      clock: () => simTime,
      // Backoff passes in simulated time: the next run happens at the next cadence tick regardless.
      sleep: async () => {},
      random: () => unit(opts.seed, 'jitter', draws++),
      log: opts.log,
      redactor: createRedactor(Object.values(DEMO_KEYS)),
      env: DEMO_KEYS,
    };
    const venues = (Object.keys(VENUES) as VenueName[]).map((name) => ({
      adapter: VENUES[name] as unknown as VenueAdapter<VenueBaseConfig>,
      config: config.venues[name] as VenueBaseConfig,
    }));
    const runs: DemoResult['runs'] = { ok: 0, partial: 0, degraded: 0, failed: 0, skipped: 0 };
    let snapshots = 0;
    let observations = 0;
    const steps = Math.round((lastDayEnd - firstDay) / cadence);
    // Wall time per phase, reported by the CLI (the demo's run time is a documented figure).
    const started = performance.now();
    for (let i = 0; i < steps; i++) {
      simTime = firstDay + i * cadence;
      for (const s of await collectVenues(deps, venues, config.http)) {
        runs[s.outcome] += 1;
        snapshots += s.snapshots;
        observations += s.observations;
      }
      opts.progress?.('collect', i + 1, steps, new Date(simTime).toISOString().slice(0, 16).replace('T', ' '));
    }
    const collected = performance.now();
    let published = 0;
    for (let d = 0; d < opts.days; d++) {
      const date = iso(firstDay + d * MS.DAY);
      // Published 30 minutes after the day ends, as `gpuidx run` would.
      const outcomes = await fixDate(
        { db, clock: () => firstDay + (d + 1) * MS.DAY + 30 * 60_000, log: opts.log, signer: opts.signer },
        { date, ...(opts.methodologyVersion ? { methodologyVersion: opts.methodologyVersion } : {}) },
      );
      published += outcomes.filter((o) => o.action === 'published').length;
      opts.progress?.('fix', d + 1, opts.days, date);
    }
    const seconds = { collect: (collected - started) / 1000, fix: (performance.now() - collected) / 1000 };
    return { db, config, firstDate: iso(firstDay), lastDate: iso(lastDayEnd - MS.DAY), runs, snapshots, observations, published, seconds };
  } catch (err) {
    await db.destroy();
    throw err;
  } finally {
    await simulator?.close();
  }
}
