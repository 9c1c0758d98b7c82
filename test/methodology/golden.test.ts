// Locks methodology v1: a changed parameter or calculation without a new methodology version fails here.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalRecord, computeFixings, type ObservationInput } from '../../src/methodology/fixing.js';
import { parameterHash } from '../../src/methodology/params.js';
import { DATE, V1 } from './helpers.js';
import { market } from './markets.js';

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
