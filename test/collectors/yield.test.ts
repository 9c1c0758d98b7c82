// The yield watch: a run that parses but brings back far fewer observations than the venue's recent runs is
// `degraded`, stored with its reason, shown by `collect` and by /v1/health; never `ok`.
import { http, HttpResponse } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { collectVenue } from '../../src/collectors/runner.js';
import { runpod } from '../../src/collectors/venues/runpod.js';
import { yieldWarning } from '../../src/collectors/yield.js';
import { fixtureBytes, tempDb, testDeps, testPolicy, venueConfig, type TempDb } from '../helpers.js';
import { JSON_HEADERS, useMsw } from '../msw.js';

describe('yieldWarning', () => {
  const run = (observations: number, rowsIgnored = 0, ignoredReasons: Record<string, number> = {}) => ({ observations, rowsIgnored, ignoredReasons });
  it.each([
    // observations, trailing runs (newest first) -> warning or null. Lower median of the sorted trailing runs.
    [run(10), [10, 10, 10], null], // median 10: 10 >= 2
    [run(2), [10, 10, 10], null], // 2 is exactly 20% of 10: not below
    [run(1), [10, 10, 10], 'yield collapsed: 1 observation(s), 10% of the median 10 of the last 3 runs (below 20%)'],
    [run(1), [10, 10], null], // fewer than 3 earlier runs: no comparison
    // [100, 12, 10, 14] sorted is [10, 12, 14, 100]: lower median at index ceil(4 / 2) - 1 = 1, so 12, and the
    // floor is 0.2 x 12 = 2.4: 3 is above it (one outlying run of 100 does not raise the bar), 2 is below.
    [run(3), [100, 12, 10, 14], null],
    [run(2), [100, 12, 10, 14], 'yield collapsed: 2 observation(s), 17% of the median 12 of the last 4 runs (below 20%)'],
  ] as const)('%o against %o', (r, trailing, expected) => {
    expect(yieldWarning(r, trailing)).toBe(expected);
  });

  it('names every ignored reason when no row gave an observation, with or without history', () => {
    expect(yieldWarning(run(0, 6, { not_offered: 6 }), [])).toBe(
      "no row gave an observation: all 6 rows were ignored (not_offered x6); has the venue's format changed?",
    );
  });

  it('only compares the last 12 runs', () => {
    // 12 runs of 100 and older ones of 1: the median of the 12 is 100, and 15 is below 20 of it.
    expect(yieldWarning(run(15), [...Array(12).fill(100), ...Array(20).fill(1)])).toBe(
      'yield collapsed: 15 observation(s), 15% of the median 100 of the last 12 runs (below 20%)',
    );
  });
});

const server = useMsw();
let t: TempDb;
beforeEach(async () => {
  t = await tempDb();
});
afterEach(async () => t.cleanup());

describe('a venue whose price fields vanish', () => {
  it('is degraded, with the reason, in the runs table, the collect summary and /v1/health', async () => {
    let fixture = 'venues/runpod/gputypes.json';
    server.use(http.post('https://api.runpod.io/graphql', () => new HttpResponse(fixtureBytes(fixture), { headers: JSON_HEADERS })));
    const deps = testDeps(t.db, { env: { RUNPOD_API_KEY: 'rp_test' } });
    for (let i = 0; i < 3; i++) expect(await collectVenue(deps, runpod, venueConfig('runpod'), testPolicy)).toMatchObject({ outcome: 'ok', observations: 10 });
    fixture = 'venues/runpod/gputypes-prices-vanished.json';
    const summary = await collectVenue(deps, runpod, venueConfig('runpod'), testPolicy);
    // The 6 gpuTypes rows still parse, but none has a price any more: every one is `not_offered`.
    const warning = "no row gave an observation: all 6 rows were ignored (not_offered x6); has the venue's format changed?";
    expect(summary).toMatchObject({ outcome: 'degraded', observations: 0, error: null, warning });
    const runs = await t.db.selectFrom('collector_runs').select(['outcome', 'warning', 'finished_at']).orderBy('id').execute();
    expect(runs.map((r) => r.outcome)).toEqual(['ok', 'ok', 'ok', 'degraded']);
    expect(runs[3]!.warning).toBe(warning);
    const app = createApp({ db: t.db, clock: () => deps.clock() });
    const health = await app.request('/v1/health');
    expect(health.status).toBe(503);
    const body = (await health.json()) as { problems: string[] };
    expect(body.problems.filter((p) => p.startsWith('runpod: '))).toEqual([
      `runpod: latest run (${new Date(runs[3]!.finished_at!).toISOString()}) is degraded: ${warning}`,
    ]);
  });
});
