// The one weighted-quantile rule of the methodology (step 8), used for the value, the percentiles and the outlier
// median. Items are parallel arrays (a value and a weight each, and the input each came from), ordered by an
// index permutation rather than held as objects: a day holds millions of them.
import type { ObservationColumns } from './columns.js';

/**
 * Items in the order of the rule: value, then the venue, listing id and fetched_at of their input (strings in
 * code-unit order); items tied on all four (one listing seen twice at one instant) keep their own order.
 */
export interface WeightedOrder {
  values: Float64Array;
  weights: Float64Array;
  order: Uint32Array;
}

/** Orders items `k` = 0..n-1, each with values[k], weights[k] and its input `rows[k]`, by the rule's order. */
export function weightedOrder(inputs: ObservationColumns, rows: ArrayLike<number>, values: Float64Array, weights: Float64Array): WeightedOrder {
  const n = values.length;
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  const { venue, listingId, rank, snapshot } = inputs;
  const fetchedAt = inputs.snapshots.fetchedAt;
  order.sort((a, b) => {
    const va = values[a]!;
    const vb = values[b]!;
    if (va !== vb) return va < vb ? -1 : 1;
    const x = rows[a]!;
    const y = rows[b]!;
    if (venue[x] !== venue[y]) return rank[venue[x]!]! - rank[venue[y]!]!;
    if (listingId[x] !== listingId[y]) return rank[listingId[x]!]! - rank[listingId[y]!]!;
    const tx = fetchedAt[snapshot[x]!]!;
    const ty = fetchedAt[snapshot[y]!]!;
    if (tx !== ty) return tx - ty;
    return a - b;
  });
  return { values, weights, order };
}

/**
 * Lower weighted quantile: in the rule's order, accumulate weights and take the first value whose cumulative
 * weight is at least phi times the total (the total also summed in that order).
 */
export function quantileOf(o: WeightedOrder, phi: number): number {
  let total = 0;
  for (const i of o.order) total += o.weights[i]!;
  const target = phi * total;
  let cumulative = 0;
  for (const i of o.order) {
    cumulative += o.weights[i]!;
    if (cumulative >= target) return o.values[i]!;
  }
  // Only reachable through float rounding at phi = 1; the last value is then the answer.
  return o.values[o.order[o.order.length - 1]!]!;
}
