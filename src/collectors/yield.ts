// The yield watch: a run that parsed but brought back far fewer observations than the venue's recent runs (a schema
// change that turns every row into "not offered", a venue serving an empty catalogue) is `degraded`, never `ok`.

/** How many of the venue's recent runs the comparison uses, at least how many it needs, and the collapse floor. */
export const YIELD_WATCH = { trailingRuns: 12, minRuns: 3, floor: 0.2 } as const;

export interface RunYield {
  observations: number;
  rowsIgnored: number;
  /** The ignored rows per reason, summed over the run's snapshots. */
  ignoredReasons: Readonly<Record<string, number>>;
}

/**
 * Why a finished run is degraded, or null. `trailing`: observations of the venue's recent runs that stored
 * snapshots (newest first). Two rules: no observation at all while rows were ignored (the rows are there, none
 * reads as a listing); or fewer observations than `floor` times the lower median of the trailing runs.
 */
export function yieldWarning(run: RunYield, trailing: readonly number[], watch: typeof YIELD_WATCH = YIELD_WATCH): string | null {
  if (run.observations === 0 && run.rowsIgnored > 0) {
    const reasons = Object.entries(run.ignoredReasons)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([reason, n]) => `${reason} x${n}`)
      .join(', ');
    return `no row gave an observation: all ${run.rowsIgnored} rows were ignored (${reasons}); has the venue's format changed?`;
  }
  const recent = trailing.slice(0, watch.trailingRuns);
  if (recent.length < watch.minRuns) return null;
  const sorted = [...recent].sort((a, b) => a - b);
  const median = sorted[Math.ceil(sorted.length / 2) - 1]!;
  if (median > 0 && run.observations < watch.floor * median) {
    return `yield collapsed: ${run.observations} observation(s), ${Math.round((100 * run.observations) / median)}% of the median ${median} of the last ${recent.length} runs (below ${Math.round(watch.floor * 100)}%)`;
  }
  return null;
}
