// Generates the tables of methodology/METHODOLOGY.md from the parameter file, so the text can never disagree with the code.
import { parameterHash, type Methodology } from './params.js';

/** The markers around one version's generated tables in METHODOLOGY.md. */
export const beginMarker = (version: string) =>
  `<!-- BEGIN GENERATED: methodology ${version} tables; run \`npx gpuidx methodology --markdown --version ${version}\` -->`;
export const END = '<!-- END GENERATED -->';

const fmt = (v: unknown) => (Array.isArray(v) ? `[${v.join(', ')}]` : String(v));

const EXPLAIN: Record<keyof Methodology['parameters'], string> = {
  max_gap_seconds: 'longest time one snapshot can represent (step 5)',
  extended_window_days: 'days in the fallback window ending on D (step 7)',
  price_band: 'accepted per-GPU price, USD per GPU-hour (step 2)',
  outlier_k: 'outlier fence in robust standard deviations (step 6)',
  perf_clamp: 'bounds of the throughput factor f (step 4)',
  min_listings: 'distinct listings needed (step 7)',
  min_venues: 'distinct venues needed (step 7)',
  venue_cap: 'largest share of weight one venue can carry (step 8)',
  percentiles: 'published percentiles (step 8)',
  decimals: 'decimal places of published prices (step 10)',
  reference_class: 'class whose throughput defines one compute unit (step 9)',
  memory_tolerance: "v2: largest relative distance between a reported memory per GPU and a class's memory (V2-1)",
  host_cap: "v2: largest share of a partition's weight one host can carry (V2-5)",
  fence_floor_ln: "v2: floor under the fence's dispersion, ln units (V2-4)",
  partition_seconds: 'v2: length of a time partition (V2-5)',
  min_partition_share: "v2: share of the window's partitions that must be sufficient (V2-7)",
  partition_trim: 'v2: share of partition values dropped at each end before the mean (V2-6)',
  min_snapshots_seen: 'v2: distinct snapshots a listing must appear in (V2-2)',
  max_carry_days: 'v2: longest a value is carried forward, in days (V2-7)',
  coverage_days: 'v2: trailing dates that coverage and the degraded flag compare with (V2-9)',
  degraded_share: 'v2: mean trailing share above which a missing venue marks the fixing degraded (V2-9)',
};

export function methodologyTables(m: Methodology): string {
  const params = Object.entries(m.parameters).map(([k, v]) => `| \`${k}\` | ${fmt(v)} | ${EXPLAIN[k as keyof typeof EXPLAIN]} |`);
  const classes = m.classes.map((c) => {
    const refs =
      Object.entries(c.reference_scores)
        .map(([s, v]) => `${s} ${v}`)
        .join(', ') || '–';
    const tf = c.tflops_bf16_dense === null ? '– (not in GPUIDX-COMPUTE)' : String(c.tflops_bf16_dense);
    return `| ${c.code} | ${c.display_name} | ${c.memory_gb} | ${tf} | ${refs} | \`GPUIDX-${c.code}\`, \`GPUIDX-${c.code}-SPOT\` |`;
  });
  const venues = Object.entries(m.venues ?? {}).map(([v, a]) => `| ${v} | ${a.segment} | ${a.admitted_from} | ${a.sources.join(', ')} |`);
  return [
    beginMarker(m.version),
    `Methodology version **${m.version}**, effective ${m.effective_from}. Parameter hash \`${parameterHash(m)}\`.`,
    '',
    '| parameter | value | meaning |',
    '|---|---|---|',
    ...params,
    '',
    ...(venues.length ? ['| admitted venue | segment | admitted from | accepted provenance |', '|---|---|---|---|', ...venues, ''] : []),
    '| class | GPU | memory GB | dense BF16 TFLOPS | reference benchmark score per GPU | series |',
    '|---|---|---|---|---|---|',
    ...classes,
    '',
    `Reference scores: ${Object.entries(m.reference_score_source)
      .map(([s, v]) => `${s}: ${v}`)
      .join('; ')}.`,
    'Raw-name aliases per venue are listed in the parameter file.',
    END,
  ].join('\n');
}
