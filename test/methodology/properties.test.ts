// Properties of the pieces every fixing rests on, over generated inputs: the venue cap and canonical JSON.
// (The weighted-quantile rule's two forms are held equal in quantile.test.ts.)
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/methodology/canonical.js';
import { capVenueShares, jsonNumber } from '../../src/methodology/shared.js';

describe('the venue cap', () => {
  // Venue weights, positive, normalized to shares the way the engines do (each over the total).
  const sharesOf = (weights: number[]) => {
    const total = weights.reduce((a, b) => a + b, 0);
    return new Map(weights.map((w, i) => [`v${String(i).padStart(2, '0')}`, w / total]));
  };
  const arbitrary = fc.tuple(
    fc.array(fc.double({ min: 0.01, max: 1000, noNaN: true }), { minLength: 1, maxLength: 12 }),
    fc.constantFrom(0.2, 0.25, 0.4, 0.5, 1),
  );

  it('sums to 1, holds no venue above the cap (raised to 1/n when the cap cannot cover all), and keeps the order of the shares', () => {
    fc.assert(
      fc.property(arbitrary, ([weights, venueCap]) => {
        const shares = sharesOf(weights);
        const { cap, capped } = capVenueShares(shares, venueCap);
        const n = shares.size;
        expect(cap).toBe(venueCap * n < 1 ? 1 / n : venueCap);
        let sum = 0;
        for (const v of capped.values()) sum += v;
        expect(Math.abs(sum - 1)).toBeLessThan(1e-9);
        for (const v of capped.values()) expect(v).toBeLessThanOrEqual(cap + 1e-12);
        // A larger share before the cap is never a smaller one after it.
        const keys = [...shares.keys()];
        for (const a of keys) for (const b of keys) if (shares.get(a)! > shares.get(b)!) expect(capped.get(a)!).toBeGreaterThanOrEqual(capped.get(b)! - 1e-12);
      }),
      { seed: 20261201, numRuns: 500 },
    );
  });

  it('leaves the shares alone when none is above the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 12 }), (n) => {
        const shares = sharesOf(Array(n).fill(1));
        expect(capVenueShares(shares, 0.4).capped).toEqual(shares);
      }),
      { seed: 20261201, numRuns: 20 },
    );
  });
});

describe('canonical JSON', () => {
  // A second, simpler form: JSON.stringify for every leaf (its numbers are the shortest form), objects written key
  // by key in sorted order. (Rebuilding a sorted object would not do: JavaScript lists integer-like keys first.)
  const oracle = (v: unknown): string =>
    Array.isArray(v)
      ? `[${v.map(oracle).join(',')}]`
      : v && typeof v === 'object'
        ? `{${Object.keys(v)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${oracle((v as Record<string, unknown>)[k])}`)
            .join(',')}}`
        : JSON.stringify(v);
  const json = fc.jsonValue({ maxDepth: 4 });

  it("is JSON with every object's keys sorted, and reads back as the same value", () => {
    fc.assert(
      fc.property(json, (v) => {
        const text = canonicalJson(v);
        expect(text).toBe(oracle(v));
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
      { seed: 20261201, numRuns: 500 },
    );
  });

  it('refuses what JSON cannot hold exactly', () => {
    for (const bad of [Number.NaN, Infinity, -Infinity]) expect(() => canonicalJson({ x: bad })).toThrow('canonical JSON cannot hold');
  });
});

describe("a digest's numbers", () => {
  // Written digit by digit where they are plain decimals of up to eight places: held to JSON.stringify itself.
  const decimal = fc
    .tuple(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 0, max: 8 }), fc.constantFrom(1, 2, 3, 4, 6, 8, 3600))
    .map(([n, places, divisor]) => n / 10 ** places / divisor);

  it('are written exactly as JSON.stringify writes them: decimals, prices per GPU, weights, any double', () => {
    fc.assert(
      fc.property(fc.oneof(decimal, fc.double(), fc.integer(), fc.constantFrom(-0, 1e-6, 9.99999999e-7, 1e7, 9999999.99999999, 2 ** 53, 1e21, 5e-324)), (x) => {
        expect(jsonNumber(x)).toBe(JSON.stringify(x));
      }),
      { seed: 20261203, numRuns: 20_000 },
    );
  });
});
