// Generic file venue: one JSON Lines line is one snapshot in gpuidx's own listing shape (data partners, auditors, tests).
import { z } from 'zod';
import { rowIdFrom, rowParser, type ParsedPayload, type ParserOptions } from '../adapter.js';
import { contractSchema } from '../listing.js';

export const GENERIC_PARSER_VERSION = 'generic/1';

const fetchedAtSchema = z.union([
  z.number().int().nonnegative(),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

export const genericLineSchema = z.object({
  venue: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'lower-case letters, digits, "_", "." or "-"'),
  fetched_at: fetchedAtSchema,
  listings: z.array(z.unknown()),
});
export type GenericLine = z.infer<typeof genericLineSchema>;

const genericListingSchema = z.object({
  listing_id: z.union([z.string().min(1), z.number()]).transform(String),
  host_id: z.union([z.string(), z.number()]).nullish().transform((v) => (v == null ? null : String(v))),
  gpu: z.string().min(1),
  gpu_count: z.number(),
  price_usd_per_hour: z.number(),
  contract: contractSchema,
  available: z.boolean(),
  perf: z.object({ system: z.string(), score_per_gpu: z.number() }).nullish(),
  region: z.string().nullish(),
  quantity_reported: z.boolean().default(true),
});

export const parseGenericLine: (json: unknown, options: ParserOptions) => ParsedPayload = rowParser({
  envelope: genericLineSchema,
  rows: (line) => line.listings,
  row: genericListingSchema,
  rowId: rowIdFrom('listing_id'),
  toListings: (l) => [{ ...l, perf: l.perf ?? null, region: l.region ?? null }],
});

/** Venue and time of a line, read leniently so that even a line failing its schema is filed under the right venue. */
export function lineIdentity(json: unknown): { venue: string; fetchedAt: number } | null {
  const parsed = z.object({ venue: genericLineSchema.shape.venue, fetched_at: fetchedAtSchema }).safeParse(json);
  return parsed.success ? { venue: parsed.data.venue, fetchedAt: parsed.data.fetched_at } : null;
}
