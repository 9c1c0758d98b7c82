// The weighted-quantile rule in its two forms: over objects (version 1) and over parallel arrays in index order
// (version 2). The object form, checked by hand in fixing.test.ts, is the oracle for the array form.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareWeighted, quantileOf, weightedOrder, weightedQuantileSorted } from '../../src/methodology/quantile.js';

describe('the weighted-quantile rule over an index order', () => {
  it('takes the lower weighted median by hand: values 3, 1, 2 with weights .2, .5, .3 sort to 1 (.5), 2, 3', () => {
    const rows = [
      { input: { venue: 'a', listingId: 'x', fetchedAt: 0 }, v: 3, w: 0.2 },
      { input: { venue: 'a', listingId: 'y', fetchedAt: 0 }, v: 1, w: 0.5 },
      { input: { venue: 'a', listingId: 'z', fetchedAt: 0 }, v: 2, w: 0.3 },
    ];
    const o = weightedOrder(
      rows,
      (r) => r.v,
      (r) => r.w,
    );
    expect([...o.order]).toEqual([1, 2, 0]);
    // Cumulative .5 reaches half of 1.0 at the first value; .75 of 1.0 is reached at 2 (.8).
    expect([quantileOf(o, 0.5), quantileOf(o, 0.75), quantileOf(o, 0.9)]).toEqual([1, 2, 3]);
  });

  it('agrees with the object form to the bit, ties broken by venue, listing id and fetched_at', () => {
    const row = fc.record({
      venue: fc.constantFrom('akash', 'vast', 'tensordock'),
      listingId: fc.constantFrom('a', 'b', 'c', 'd'),
      fetchedAt: fc.integer({ min: 0, max: 5 }),
      v: fc.constantFrom(1, 1.5, 2, 2.25),
      w: fc.double({ min: 0.001, max: 10, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(row, { minLength: 1, maxLength: 40, selector: (r) => `${r.venue}/${r.listingId}/${r.fetchedAt}` }),
        fc.constantFrom(0.1, 0.25, 0.5, 0.75, 0.9),
        (rs, phi) => {
          const rows = rs.map((r) => ({ input: { venue: r.venue, listingId: r.listingId, fetchedAt: r.fetchedAt }, v: r.v, w: r.w }));
          const items = rows.map((r) => ({ value: r.v, weight: r.w, ...r.input })).sort(compareWeighted);
          expect(
            quantileOf(
              weightedOrder(
                rows,
                (r) => r.v,
                (r) => r.w,
              ),
              phi,
            ),
          ).toBe(weightedQuantileSorted(items, phi));
        },
      ),
      { seed: 20261201, numRuns: 300 },
    );
  });
});
