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
import { FIXTURES } from '../helpers.js';
import { DATE } from './helpers.js';
import { v2Market } from './markets.js';

const V2 = loadMethodology('2.0.0');
const GOLDEN = join(FIXTURES, 'methodology', 'v2-golden.json');

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
