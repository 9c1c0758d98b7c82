// Locks methodology v1: a changed parameter or calculation without a new methodology version fails here.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalRecord, computeFixings, type ObservationInput } from '../../src/methodology/fixing.js';
import { parameterHash } from '../../src/methodology/params.js';
import { D0, DATE, HOUR, V1 } from './helpers.js';

/** A deterministic three-day market: 4 venues, hourly snapshots, several classes, junk, spot and slow machines. */
function market(): ObservationInput[] {
  let a = 42;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const classes: [string, number][] = [
    ['H100 SXM', 2.2],
    ['A100 SXM4', 1.1],
    ['RTX 4090', 0.35],
    ['L40S', 0.8],
    ['Mystery GPU', 1],
  ];
  const out: ObservationInput[] = [];
  let id = 0;
  for (const venue of ['vast', 'runpod', 'akash', 'partner']) {
    for (let h = -48; h < 24; h += 1) {
      const t = D0 + h * HOUR + Math.floor(rnd() * 600_000);
      for (let l = 0; l < 12; l++) {
        const [gpu, level] = classes[l % classes.length]!;
        const n = [1, 2, 4, 8][l % 4]!;
        const junk = l === 11 && h % 7 === 0 ? (rnd() < 0.5 ? 0.01 : 999) : null;
        id += 1;
        out.push({
          observationId: id,
          snapshotId: h + 100,
          snapshotSha256: `${venue}-${h}`,
          seq: l,
          venue,
          fetchedAt: t,
          listingId: `${venue}-${l}`,
          gpuRaw: gpu,
          gpuCount: n,
          priceUsdPerHour: junk ?? n * level * (0.8 + rnd() * 0.4),
          contract: l % 3 === 2 ? 'interruptible' : 'on_demand',
          available: rnd() > 0.1,
          perfSystem: venue === 'vast' ? 'vast_dlperf' : null,
          perfScorePerGpu: venue === 'vast' ? 150 + rnd() * 300 : null,
        });
      }
    }
  }
  return out;
}

const request = (observations: ObservationInput[]) => ({
  methodology: V1,
  date: DATE,
  observations,
  snapshots: [],
  previous: new Map([['GPUIDX-L40S-SPOT', { date: '2026-11-19', value: 0.5 }]]),
});

function digest(observations: ObservationInput[]): string {
  const records = computeFixings(request(observations)).map((r) => canonicalRecord(r.record));
  return createHash('sha256').update(records.join('\n')).digest('hex');
}

describe('methodology v1 lock', () => {
  it('has the parameter hash published for version 1.0.0 (edit methodology/v1.json only with a new version)', () => {
    expect(V1.version).toBe('1.0.0');
    expect(parameterHash(V1)).toBe('74fc0518b012fd89809e89c3f250675cdc6ea285b1af443511ddd02786ecc55b');
  });

  it('gives the golden fixings on the reference market (a changed calculation needs a new methodology version)', () => {
    const results = computeFixings(request(market()));
    const h100 = results.find((r) => r.record.series === 'GPUIDX-H100-SXM')!.record;
    expect(h100).toMatchObject({ status: 'normal', venues: 4 });
    expect(results.filter((r) => r.record.status === 'normal').length).toBeGreaterThan(5);
    expect(digest(market())).toBe(GOLDEN);
  });

  it('never changes a fixing when the inputs arrive in another order', () => {
    const base = market();
    const expected = digest(base);
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: base.length, maxLength: base.length }), (keys) => {
        const shuffled = base
          .map((o, i) => [keys[i]!, o] as const)
          .sort((x, y) => x[0] - y[0])
          .map(([, o]) => o);
        return digest(shuffled) === expected;
      }),
      { numRuns: 25 },
    );
  });
});

const GOLDEN = '1c81640641792ccab8926b39d64d85276b5fdacd506f41aadd4b70b9fee25b28';
