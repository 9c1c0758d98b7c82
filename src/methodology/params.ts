// The methodology's parameters and GPU taxonomy: one versioned JSON file per version under methodology/, validated here.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { canonicalJson } from './canonical.js';

const classCode = z.string().regex(/^[A-Z0-9][A-Z0-9-]*$/, 'upper-case letters, digits and "-"');

export const gpuClassSchema = z.object({
  code: classCode,
  display_name: z.string().min(1),
  memory_gb: z.number().positive(),
  /** Dense BF16 tensor TFLOPS; null where no verified figure exists (the class then stays out of GPUIDX-COMPUTE). */
  tflops_bf16_dense: z.number().positive().nullable(),
  tflops_source: z.string().min(1),
  /** Raw GPU names per venue; the key "*" applies to every venue, after the venue's own list. */
  aliases: z.record(z.string(), z.array(z.string().min(1))),
  /** Per-GPU reference score per benchmark system (for example vast_dlperf). */
  reference_scores: z.record(z.string(), z.number().positive()),
});
export type GpuClass = z.infer<typeof gpuClassSchema>;

const probability = z.number().gt(0).lt(1);

export const methodologySchema = z
  .object({
    version: z.string().regex(/^\d+\.\d+\.\d+$/),
    effective_from: z.iso.date(),
    description: z.string(),
    parameters: z
      .object({
        max_gap_seconds: z.number().int().positive(),
        extended_window_days: z.number().int().min(1),
        price_band: z.tuple([z.number().positive(), z.number().positive()]),
        outlier_k: z.number().positive(),
        perf_clamp: z.tuple([z.number().positive(), z.number().positive()]),
        min_listings: z.number().int().min(1),
        min_venues: z.number().int().min(1),
        venue_cap: probability.or(z.literal(1)),
        percentiles: z.array(probability),
        decimals: z.number().int().min(0).max(10),
        reference_class: classCode,
        // Methodology v2 and later (absent from v1, whose document and hash stay as published):
        /** Largest share of a partition's weight one host may hold. */
        host_cap: probability.or(z.literal(1)).optional(),
        /** Floor under the fence's dispersion, in ln units. */
        fence_floor_ln: z.number().positive().optional(),
        /** Length of a time partition of the day. */
        partition_seconds: z.number().int().positive().optional(),
        /** Share of the window's partitions that must be sufficient. */
        min_partition_share: z.number().gt(0).max(1).optional(),
        /** Share of the sufficient partitions' values dropped at each end before their mean. */
        partition_trim: z.number().min(0).lt(0.5).optional(),
        /** Distinct snapshots of its venue a listing must appear in within the window. */
        min_snapshots_seen: z.number().int().min(1).optional(),
        /** Longest a value is carried forward, in days after the date it was published for. */
        max_carry_days: z.number().int().min(0).optional(),
        /** Trailing dates whose fixings coverage and the degraded flag compare with. */
        coverage_days: z.number().int().min(1).optional(),
        /** Mean trailing share above which a venue's absence marks a fixing degraded. */
        degraded_share: probability.optional(),
        /** Largest relative distance between a reported memory per GPU and a class's memory for the class to apply. */
        memory_tolerance: probability.optional(),
      })
      .strict(),
    /** Methodology v2 and later: the admitted venues, their segment, admission date and accepted provenance. */
    venues: z
      .record(
        z.string(),
        z.object({ segment: z.enum(['marketplace', 'list_price']), admitted_from: z.iso.date(), sources: z.array(z.enum(['http', 'file'])).min(1) }).strict(),
      )
      .optional(),
    reference_score_source: z.record(z.string(), z.string()),
    classes: z.array(gpuClassSchema).min(1),
  })
  .strict()
  .superRefine((m, ctx) => {
    const codes = m.classes.map((c) => c.code);
    if (new Set(codes).size !== codes.length) ctx.addIssue({ code: 'custom', path: ['classes'], message: 'class codes must be unique' });
    const ref = m.classes.find((c) => c.code === m.parameters.reference_class);
    if (!ref || ref.tflops_bf16_dense === null) {
      ctx.addIssue({ code: 'custom', path: ['parameters', 'reference_class'], message: 'must name a class with a TFLOPS figure' });
    }
  });
export type Methodology = z.infer<typeof methodologySchema>;
export type Parameters = Methodology['parameters'];

export const METHODOLOGY_DIR = join(import.meta.dirname, '..', '..', 'methodology');

/** sha256 of the canonical JSON of the whole methodology document: parameters, taxonomy and sources. */
export function parameterHash(m: Methodology): string {
  return createHash('sha256').update(canonicalJson(m)).digest('hex');
}

export class UnknownMethodologyError extends Error {
  constructor(
    readonly version: string,
    readonly known: string[],
  ) {
    super(`unknown methodology version ${version}; known: ${known.join(', ')}`);
    this.name = 'UnknownMethodologyError';
  }
}

/** Every methodology version on disk, oldest first. Old versions stay loadable so old fixings replay. */
export function loadMethodologies(dir = METHODOLOGY_DIR): Methodology[] {
  return readdirSync(dir)
    .filter((f) => /^v\d+\.json$/.test(f))
    .map((f) => methodologySchema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8'))))
    .sort((a, b) => a.version.localeCompare(b.version, 'en', { numeric: true }));
}

/** Of `all` (oldest first), the latest version whose effective date is on or before `date`; undefined before every one. */
export function methodologyInForce(all: readonly Methodology[], date: string): Methodology | undefined {
  return all.filter((m) => m.effective_from <= date).at(-1);
}

export function loadMethodology(version?: string, dir = METHODOLOGY_DIR): Methodology {
  const all = loadMethodologies(dir);
  if (!version) return all[all.length - 1]!;
  const found = all.find((m) => m.version === version);
  if (!found)
    throw new UnknownMethodologyError(
      version,
      all.map((m) => m.version),
    );
  return found;
}
