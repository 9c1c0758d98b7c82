// The published series: one on-demand and one spot series per GPU class, and the composite price of compute.
import type { Methodology } from './params.js';

export const COMPUTE_SERIES = 'GPUIDX-COMPUTE';

export interface SeriesSpec {
  code: string;
  /** The GPU class, or null for GPUIDX-COMPUTE. */
  classCode: string | null;
  contract: 'on_demand' | 'interruptible';
  unit: string;
  description: string;
}

export function seriesCatalog(m: Methodology): SeriesSpec[] {
  const out: SeriesSpec[] = [];
  for (const c of m.classes) {
    out.push({
      code: `GPUIDX-${c.code}`,
      classCode: c.code,
      contract: 'on_demand',
      unit: 'USD per GPU-hour',
      description: `${c.display_name}, on-demand, throughput-normalized volume-weighted median`,
    });
    out.push({
      code: `GPUIDX-${c.code}-SPOT`,
      classCode: c.code,
      contract: 'interruptible',
      unit: 'USD per GPU-hour',
      description: `${c.display_name}, interruptible (spot), throughput-normalized volume-weighted median`,
    });
  }
  out.push({
    code: COMPUTE_SERIES,
    classCode: null,
    contract: 'on_demand',
    unit: `USD per ${m.parameters.reference_class}-equivalent hour`,
    description: `Price of compute across all classes with a TFLOPS figure, in ${m.parameters.reference_class}-equivalent hours`,
  });
  return out;
}
