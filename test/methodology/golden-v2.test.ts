// Locks methodology v2's results on a reference market as readable JSON (fixtures/methodology/v2-golden.json),
// and checks that input order never changes a digit. The arithmetic behind single rules is worked by hand in
// v2.test.ts; this file guards the whole against unversioned change.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { engineFor } from '../../src/methodology/engines.js';
import { loadMethodology } from '../../src/methodology/params.js';
import { canonicalRecord } from '../../src/methodology/shared.js';
import type { ObservationInput } from '../../src/methodology/types.js';
import { unit } from '../../src/simulator/market.js';
import { FIXTURES } from '../helpers.js';
import { D0, DATE } from './helpers.js';

const V2 = loadMethodology('2.0.0');
const GOLDEN = join(FIXTURES, 'methodology', 'v2-golden.json');

/**
 * Memory per GPU as Vast.ai reports it (gpu_ram / 1024): listing 5 is a 40 GB A100 under the same name as the
 * 80 GB ones (class A100-40). Akash reports none: its A100 SXM4 listings are memory_ambiguous, the rest classed.
 */
function memoryOf(gpu: string, listing: number): number {
  if (gpu === 'A100 SXM4') return listing === 5 ? 40 : 80;
  return { 'H100 SXM': 79.6474609375, 'RTX 4090': 23.98828125, L40S: 44.98828125 }[gpu]!;
}

/**
 * Three days of a reference market: vast (hosts, slices of shared machines, bids, memory variants), tensordock and akash with
 * reported quantities, runpod and azure list prices, a venue that is not admitted, a file import claiming vast,
 * junk prices, snapshots every 20 minutes with seeded jitter.
 */
function v2Market(): ObservationInput[] {
  const classes: [string, number][] = [
    ['H100 SXM', 2.2],
    ['A100 SXM4', 1.1],
    ['RTX 4090', 0.35],
    ['L40S', 0.8],
  ];
  const venues: { venue: string; source: 'http' | 'file'; quantity: boolean }[] = [
    { venue: 'vast', source: 'http', quantity: true },
    { venue: 'tensordock', source: 'http', quantity: true },
    { venue: 'akash', source: 'http', quantity: true },
    { venue: 'runpod', source: 'http', quantity: false },
    { venue: 'azure', source: 'http', quantity: false },
    { venue: 'cheapgpus', source: 'http', quantity: true },
    { venue: 'vast', source: 'file', quantity: true },
  ];
  const out: ObservationInput[] = [];
  let id = 0;
  for (const [vi, v] of venues.entries()) {
    for (let s = -144; s < 72; s++) {
      const t = D0 + s * 1_200_000 + Math.floor(unit(9, v.venue, vi, s) * 300_000);
      for (let l = 0; l < 10; l++) {
        if (unit(9, 'present', vi, l, Math.floor(s / 6)) < 0.15) continue; // listings come and go
        const [gpu, level] = classes[l % classes.length]!;
        const n = [1, 2, 4, 8][l % 4]!;
        const junk = l === 9 && s % 11 === 0 ? 0.01 : null;
        const price = junk ?? n * level * (0.85 + unit(9, 'p', vi, l, s) * 0.3) * (v.venue === 'cheapgpus' || v.source === 'file' ? 0.5 : 1);
        id += 1;
        const base: ObservationInput = {
          observationId: id,
          snapshotId: vi * 1000 + s,
          snapshotSha256: `${v.venue}-${v.source}-${s}`,
          seq: 2 * l,
          venue: v.venue,
          fetchedAt: t,
          listingId: `${v.venue}-${l}`,
          gpuRaw: gpu,
          gpuCount: n,
          priceUsdPerHour: price,
          contract: 'on_demand',
          available: unit(9, 'a', vi, l, s) > 0.1,
          perfSystem: v.venue === 'vast' ? 'vast_dlperf' : null,
          perfScorePerGpu: v.venue === 'vast' ? 200 + unit(9, 'perf', l) * 200 : null,
          source: v.source,
          hostId: `${v.venue}-host-${l % 4}`,
          quantityReported: v.quantity,
          machineId: v.venue === 'vast' ? `m-${l % 4}` : null,
          gpuMemoryGb: v.venue === 'akash' ? null : memoryOf(gpu, l),
        };
        out.push(base);
        // Vast's bid on each offer; every fourth bid sits above its ask.
        if (v.venue === 'vast')
          out.push({
            ...base,
            observationId: (id += 1),
            seq: 2 * l + 1,
            listingId: `${base.listingId}/bid`,
            contract: 'interruptible',
            priceUsdPerHour: price * (l % 4 === 3 ? 1.2 : 0.6),
          });
      }
    }
  }
  return out;
}

const request = (observations: ObservationInput[]) => ({
  methodology: V2,
  date: DATE,
  observations,
  snapshots: [],
  previous: new Map([['GPUIDX-L40S-SPOT', { date: '2026-11-19', value: 0.5 }]]),
});
const results = (observations: ObservationInput[]) => [...engineFor(V2)(request(observations))];

/** The golden view of a record: everything but the digest (kept separately) in readable form. */
const view = (r: ReturnType<typeof results>[number]) => {
  const { input_digest, parameter_hash, methodology_version, unit: _unit, window: _w, date: _d, ...rest } = r.record;
  return { ...rest, input_digest };
};

describe('methodology v2 golden', () => {
  it('gives the golden fixings on the reference market (a changed calculation needs a new methodology version)', () => {
    const actual = { methodology_version: V2.version, date: DATE, fixings: results(v2Market()).map(view) };
    const { note, ...golden } = JSON.parse(readFileSync(GOLDEN, 'utf8')) as { note: string };
    if (process.env.GPUIDX_WRITE_GOLDEN === '1') writeFileSync(GOLDEN, `${JSON.stringify({ note, ...actual }, null, 2)}\n`);
    expect(actual).toEqual(golden);
  });

  it('never changes a fixing when the inputs arrive in another order', () => {
    const base = v2Market();
    const expected = results(base)
      .map((r) => canonicalRecord(r.record))
      .join('\n');
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: base.length, maxLength: base.length }), (keys) => {
        const shuffled = base
          .map((o, i) => [keys[i]!, o] as const)
          .sort((x, y) => x[0] - y[0])
          .map(([, o]) => o);
        return (
          results(shuffled)
            .map((r) => canonicalRecord(r.record))
            .join('\n') === expected
        );
      }),
      { numRuns: 5 },
    );
  }, 120_000);
});
