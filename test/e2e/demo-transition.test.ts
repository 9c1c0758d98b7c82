// The change of methodology end to end: two simulated days either side of version 2's effective date, each fixed
// with the version in force on it, both replaying from the raw bytes, and the demo's window rule that shows it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbSource } from '../../src/audit/db-source.js';
import { replayDate } from '../../src/audit/replay.js';
import { demoWindowEnd, runDemo, type DemoResult } from '../../src/demo/index.js';
import { memoryLogger } from '../../src/log/index.js';
import { tempDb, testSigner, type TempDb } from '../helpers.js';

let t: TempDb;
let demo: DemoResult;

beforeAll(async () => {
  t = await tempDb();
  await t.db.destroy();
  // Hourly collection and no injected faults: enough for both versions to publish, at a sixth of the demo's cost.
  demo = await runDemo({
    dbPath: join(t.dir, 'demo.db'),
    days: 2,
    seed: 7,
    scale: 1,
    now: Date.UTC(2026, 11, 2, 9),
    cadenceMinutes: 60,
    faults: () => [],
    log: memoryLogger(),
    signer: testSigner(),
  });
  t.db = demo.db;
}, 120_000);

afterAll(async () => {
  await t.cleanup();
});

describe('the demo across the effective date of methodology 2.0.0', () => {
  it('fixes each date with the version in force on it', async () => {
    const rows = await demo.db.selectFrom('fixings').select(['date', 'methodology_version']).distinct().orderBy('date').execute();
    expect(rows).toEqual([
      { date: '2026-11-30', methodology_version: '1.0.0' },
      { date: '2026-12-01', methodology_version: '2.0.0' },
    ]);
  });

  it('does not compare the first version-2 fixings with version-1 history', async () => {
    // 2026-11-30's volume-weighted v1 fixings are within coverage_days of 2026-12-01, but measure volume
    // differently: every v2 fixing's trailing history is empty, so no ratio and no venue reported missing.
    const v1Normal = await demo.db.selectFrom('fixings').select('series').where('date', '=', '2026-11-30').where('status', '=', 'normal').execute();
    expect(v1Normal).toHaveLength(33); // of 41 (seed 7)
    const v2 = await demo.db.selectFrom('fixings').select(['series', 'record']).where('date', '=', '2026-12-01').execute();
    const coverage = v2.map((f) => JSON.parse(f.record) as { coverage: { trailing_days: number; volume_vs_trailing_mean: number | null }; degraded: boolean });
    expect(coverage.filter((c) => c.coverage.trailing_days !== 0 || c.coverage.volume_vs_trailing_mean !== null || c.degraded)).toEqual([]);
  });

  it('replays both versions bit for bit', async () => {
    // Every series of each version's catalog: 1.0.0 has 20 classes (x2, + COMPUTE = 41), 2.0.0 has 51 (103).
    for (const [date, series] of [
      ['2026-11-30', 41],
      ['2026-12-01', 103],
    ] as const) {
      const verdicts = await replayDate(dbSource(demo.db), date);
      expect(verdicts).toHaveLength(series);
      expect(verdicts.filter((v) => !v.match)).toEqual([]);
    }
  });
});

describe('the demo window', () => {
  const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
  it.each([
    // now, days, newest effective date -> window end (exclusive). Shown days: min(7, floor(days / 4)), at least 1.
    ['2026-12-01T09:55:00Z', 30, '2026-12-01', '2026-12-08'], // 7 days of the new version: ends 12-01 + 7
    ['2026-12-01T09:55:00Z', 8, '2026-12-01', '2026-12-03'], // floor(8 / 4) = 2 days shown
    ['2026-12-01T09:55:00Z', 1, '2026-12-01', '2026-12-02'], // floor(1 / 4) = 0, raised to 1
    ['2026-12-20T23:59:00Z', 30, '2026-12-01', '2026-12-20'], // 19 days in force already: today's start
    ['2026-11-20T12:00:00Z', 30, '2026-11-01', '2026-11-20'], // an older version: today's start
  ] as const)('now %s, %i days, effective %s: ends before %s', (now, days, effective, end) => {
    expect(demoWindowEnd(Date.parse(now), days, effective)).toBe(day(end));
  });
});
