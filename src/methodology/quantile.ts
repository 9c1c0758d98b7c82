// The one weighted-quantile rule of the methodology (step 8), used for the value, the percentiles and the outlier median.

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
