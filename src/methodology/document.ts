// Generates the tables of methodology/METHODOLOGY.md from the parameter file, so the text can never disagree with the code.
import { parameterHash, type Methodology } from './params.js';

export const BEGIN = '<!-- BEGIN GENERATED: gpuidx methodology tables; run `npx gpuidx methodology --markdown` -->';
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
};

export function methodologyTables(m: Methodology): string {
  const params = Object.entries(m.parameters).map(([k, v]) => `| \`${k}\` | ${fmt(v)} | ${EXPLAIN[k as keyof typeof EXPLAIN]} |`);
  const classes = m.classes.map((c) => {
    const refs = Object.entries(c.reference_scores).map(([s, v]) => `${s} ${v}`).join(', ') || '–';
    const tf = c.tflops_bf16_dense === null ? '– (not in GPUIDX-COMPUTE)' : String(c.tflops_bf16_dense);
    return `| ${c.code} | ${c.display_name} | ${c.memory_gb} | ${tf} | ${refs} | \`GPUIDX-${c.code}\`, \`GPUIDX-${c.code}-SPOT\` |`;
  });
  return [
    BEGIN,
    `Methodology version **${m.version}**, effective ${m.effective_from}. Parameter hash \`${parameterHash(m)}\`.`,
    '',
    '| parameter | value | meaning |',
    '|---|---|---|',
    ...params,
    '',
    '| class | GPU | memory GB | dense BF16 TFLOPS | reference benchmark score per GPU | series |',
    '|---|---|---|---|---|---|',
    ...classes,
    '',
    `Reference scores: ${Object.entries(m.reference_score_source).map(([s, v]) => `${s}: ${v}`).join('; ')}.`,
    'Raw-name aliases per venue are listed in the parameter file.',
    END,
  ].join('\n');
}
