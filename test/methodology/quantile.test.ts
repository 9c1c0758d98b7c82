// The weighted-quantile rule over columns (an index order over parallel arrays) against its plain statement over
// objects (test/methodology/reference/quantile.ts, checked by hand in fixing.test.ts), which is the oracle here.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fetchedAtOf, observationColumns, stringId } from '../../src/methodology/columns.js';
import { quantileOf, weightedOrder } from '../../src/methodology/quantile.js';
import { compareWeighted, weightedQuantileSorted } from './reference/quantile.js';
import { obs } from './helpers.js';

/** Items (venue, listing, instant, value, weight) as columns and the input row of each item. */
function itemsOf(items: { venue: string; listingId: string; fetchedAt: number; v: number; w: number }[]) {
  const inputs = observationColumns(items.map((it) => obs(it.venue, it.listingId, 1, { fetchedAt: it.fetchedAt })));
  const rows = items.map((it) => {
    for (let r = 0; r < inputs.length; r++)
      if (inputs.venue[r] === stringId(inputs, it.venue) && inputs.listingId[r] === stringId(inputs, it.listingId) && fetchedAtOf(inputs, r) === it.fetchedAt)
        return r;
    throw new Error('no row');
  });
  return weightedOrder(
    inputs,
    rows,
    Float64Array.from(items, (it) => it.v),
    Float64Array.from(items, (it) => it.w),
  );
}

describe('the weighted-quantile rule over an index order', () => {
  it('takes the lower weighted median by hand: values 3, 1, 2 with weights .2, .5, .3 sort to 1 (.5), 2, 3', () => {
    const o = itemsOf([
      { venue: 'a', listingId: 'x', fetchedAt: 0, v: 3, w: 0.2 },
      { venue: 'a', listingId: 'y', fetchedAt: 0, v: 1, w: 0.5 },
      { venue: 'a', listingId: 'z', fetchedAt: 0, v: 2, w: 0.3 },
    ]);
    expect([...o.order]).toEqual([1, 2, 0]);
    // Cumulative .5 reaches half of 1.0 at the first value; .75 of 1.0 is reached at 2 (.8).
    expect([quantileOf(o, 0.5), quantileOf(o, 0.75), quantileOf(o, 0.9)]).toEqual([1, 2, 3]);
  });

  it('breaks ties of value by venue, then listing id, then fetched_at, in code-unit order', () => {
    // All of value 1: "B" < "a" in code units; then listing "x" < "y"; then instant 1 < 2.
    const o = itemsOf([
      { venue: 'a', listingId: 'y', fetchedAt: 1, v: 1, w: 1 },
      { venue: 'a', listingId: 'x', fetchedAt: 2, v: 1, w: 1 },
      { venue: 'B', listingId: 'z', fetchedAt: 3, v: 1, w: 1 },
      { venue: 'a', listingId: 'x', fetchedAt: 1, v: 1, w: 1 },
    ]);
    expect([...o.order]).toEqual([2, 3, 1, 0]);
  });

  it('agrees with the object form to the bit', () => {
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
          const items = rs.map((r) => ({ value: r.v, weight: r.w, venue: r.venue, listingId: r.listingId, fetchedAt: r.fetchedAt })).sort(compareWeighted);
          expect(quantileOf(itemsOf(rs), phi)).toBe(weightedQuantileSorted(items, phi));
        },
      ),
      { seed: 20261201, numRuns: 300 },
    );
  });
});
