// The one weighted-quantile rule of the methodology (step 8), used for the value, the percentiles and the outlier
// median: over objects (version 1) or, the same rule, over parallel arrays in index order (version 2, which holds
// millions of rows and keeps no object per row).

export interface Weighted {
  value: number;
  weight: number;
  /** Tie-break keys, in order: venue, listing id, fetched_at. */
  venue: string;
  listingId: string;
  fetchedAt: number;
}

/** Orders by value, then venue, listing id and fetched_at: a total order that never depends on input order. */
export function compareWeighted(a: Weighted, b: Weighted): number {
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  if (a.venue !== b.venue) return a.venue < b.venue ? -1 : 1;
  if (a.listingId !== b.listingId) return a.listingId < b.listingId ? -1 : 1;
  return a.fetchedAt - b.fetchedAt;
}

/**
 * Lower weighted quantile: sort, accumulate weights in that order, and take the first value whose cumulative
 * weight is at least phi times the total. `items` must be sorted with `compareWeighted`.
 */
export function weightedQuantileSorted(items: readonly Weighted[], phi: number): number {
  let total = 0;
  for (const it of items) total += it.weight;
  const target = phi * total;
  let cumulative = 0;
  for (const it of items) {
    cumulative += it.weight;
    if (cumulative >= target) return it.value;
  }
  // Only reachable through float rounding at phi = 1; the last value is then the answer.
  return items[items.length - 1]!.value;
}

export function weightedQuantile(items: readonly Weighted[], phi: number): number {
  if (items.length === 0) throw new RangeError('weighted quantile of nothing');
  return weightedQuantileSorted([...items].sort(compareWeighted), phi);
}

/**
 * Rows with a value and a weight each, in the order of the rule above (`compareWeighted`):
 * value, then venue, listing id and fetched_at. Held as an index order over parallel arrays rather than one
 * object per row: the ordering and the sums are those of `compareWeighted` and `weightedQuantileSorted`.
 */
export interface WeightedOrder {
  values: Float64Array;
  weights: Float64Array;
  order: Uint32Array;
}

export function weightedOrder<R extends { input: { venue: string; listingId: string; fetchedAt: number } }>(
  rows: readonly R[],
  value: (r: R) => number,
  weight: (r: R) => number,
): WeightedOrder {
  const n = rows.length;
  const values = new Float64Array(n);
  const weights = new Float64Array(n);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    values[i] = value(rows[i]!);
    weights[i] = weight(rows[i]!);
    order[i] = i;
  }
  order.sort((a, b) => {
    const va = values[a]!;
    const vb = values[b]!;
    if (va !== vb) return va < vb ? -1 : 1;
    const x = rows[a]!.input;
    const y = rows[b]!.input;
    if (x.venue !== y.venue) return x.venue < y.venue ? -1 : 1;
    if (x.listingId !== y.listingId) return x.listingId < y.listingId ? -1 : 1;
    return x.fetchedAt - y.fetchedAt;
  });
  return { values, weights, order };
}

/** `weightedQuantileSorted` over an order: the same lower weighted quantile, weights summed in that order. */
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
