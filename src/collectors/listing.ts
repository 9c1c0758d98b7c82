// The one definition of a listing as every venue adapter must hand it over, and the reason codes for rows that fail it.
import { z } from 'zod';

export const CONTRACTS = ['on_demand', 'interruptible', 'reserved'] as const;
export const contractSchema = z.enum(CONTRACTS);
export type Contract = z.infer<typeof contractSchema>;

/**
 * A price above this (USD per GPU-hour) is not a market price but a broken row. The methodology's far
 * tighter `price_band` excludes merely silly prices later, visibly; this bound only keeps garbage out.
 */
export const MAX_SANE_PRICE_PER_GPU_HOUR = 1000;

export const perfSchema = z.object({
  system: z.string().min(1),
  score_per_gpu: z.number().positive(),
});

export const listingSchema = z
  .object({
    listing_id: z.string().min(1),
    host_id: z.string().min(1).nullable(),
    gpu: z.string().min(1),
    gpu_count: z.number().int().min(1),
    price_usd_per_hour: z.number().positive(),
    contract: contractSchema,
    available: z.boolean(),
    perf: perfSchema.nullable(),
    region: z.string().min(1).nullable(),
    /** False when the venue does not report a GPU quantity and `gpu_count` is the venue's configured default. */
    quantity_reported: z.boolean(),
    /** The physical machine the listing runs on, where the venue says (Vast `machine_id`): offers of one machine overlap. */
    machine_id: z.string().min(1).nullable().default(null),
    /** Memory per GPU in GB (1024 MB), where the venue reports it (Vast `gpu_ram`): names alone are ambiguous for some parts. */
    gpu_memory_gb: z.number().positive().nullable().default(null),
  })
  .superRefine((l, ctx) => {
    // Only meaningful once the count itself is valid; an invalid count has its own issue already.
    if (Number.isInteger(l.gpu_count) && l.gpu_count >= 1 && l.price_usd_per_hour / l.gpu_count > MAX_SANE_PRICE_PER_GPU_HOUR) {
      ctx.addIssue({
        code: 'custom',
        path: ['price_usd_per_hour'],
        message: `absurd price: ${l.price_usd_per_hour / l.gpu_count} USD per GPU-hour is above ${MAX_SANE_PRICE_PER_GPU_HOUR}`,
        params: { reason: 'absurd_price' },
      });
    }
  });

export type Listing = z.infer<typeof listingSchema>;

/** Row-level reason codes recorded in `snapshot_issues.code`. */
export type RowIssueCode = 'row_schema' | 'not_a_number' | 'non_positive_price' | 'absurd_price' | 'invalid_gpu_count' | 'missing_field' | 'invalid_field';

/** Names the first problem of a listing that failed `listingSchema`, as a stable reason code. */
export function classifyListingIssue(issue: z.core.$ZodIssue, candidate: Record<string, unknown>): RowIssueCode {
  const field = issue.path[0];
  if (issue.code === 'custom' && (issue.params as { reason?: string } | undefined)?.reason === 'absurd_price') return 'absurd_price';
  // zod does not echo the input back, so look at the candidate itself.
  if (issue.code === 'invalid_type' && typeof field === 'string' && candidate[field] === undefined) return 'missing_field';
  if (field === 'price_usd_per_hour') {
    if (issue.code === 'invalid_type') return 'not_a_number';
    if (issue.code === 'too_small') return 'non_positive_price';
  }
  if (field === 'gpu_count') return 'invalid_gpu_count';
  return 'invalid_field';
}

/** One line per zod issue, `path: message`, for recorded error text. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .concat(error.issues.length > 10 ? [`... and ${error.issues.length - 10} more issues`] : [])
    .join('; ');
}
