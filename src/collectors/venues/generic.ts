// Generic file venue: one JSON Lines line is one snapshot in gpuidx's own listing shape (data partners, auditors, tests).
import { z } from 'zod';
import { rowIdFrom, rowParser, type ParsedPayload, type ParserOptions } from '../adapter.js';
import { contractSchema } from '../listing.js';

export const GENERIC_PARSER_VERSION = 'generic/1';

const fetchedAtSchema = z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);

export const genericLineSchema = z.object({
  venue: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'lower-case letters, digits, "_", "." or "-"'),
  fetched_at: fetchedAtSchema,
  listings: z.array(z.unknown()),
});
export type GenericLine = z.infer<typeof genericLineSchema>;

const genericListingSchema = z.object({
  listing_id: z.union([z.string().min(1), z.number()]).transform(String),
  host_id: z
    .union([z.string(), z.number()])
    .nullish()
    .transform((v) => (v == null ? null : String(v))),
  gpu: z.string().min(1),
  gpu_count: z.number(),
  price_usd_per_hour: z.number(),
  contract: contractSchema,
  available: z.boolean(),
  perf: z.object({ system: z.string(), score_per_gpu: z.number() }).nullish(),
  region: z.string().nullish(),
  quantity_reported: z.boolean().default(true),
});

/** No snapshot claims to be older than this (UTC ms of 2000-01-01). */
export const EARLIEST_FETCHED_AT = Date.UTC(2000, 0, 1);
/** How far past our clock a line's fetched_at may be (clock skew between a partner's machine and ours). */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** Why a claimed fetched_at cannot be believed given when the line was received, or null when it can. */
export function implausibleFetchedAt(fetchedAt: number, receivedAt: number): string | null {
  if (fetchedAt < EARLIEST_FETCHED_AT) return `fetched_at ${fetchedAt} is before 2000-01-01`;
  if (fetchedAt > receivedAt + CLOCK_SKEW_MS) {
    const claimed = fetchedAt <= 8.64e15 ? new Date(fetchedAt).toISOString() : String(fetchedAt);
    return `fetched_at ${claimed} is in the future (received ${new Date(receivedAt).toISOString()}; allowed skew ${CLOCK_SKEW_MS / 60_000} min)`;
  }
  return null;
}

const parseGenericRows: (json: unknown, options: ParserOptions) => ParsedPayload = rowParser({
  envelope: genericLineSchema,
  rows: (line) => line.listings,
  row: genericListingSchema,
  rowId: rowIdFrom('listing_id'),
  toListings: (l) => [{ ...l, perf: l.perf ?? null, region: l.region ?? null }],
});

/**
 * A line's listings; a line received since receipt times were recorded (options.received_at) must also claim a
 * plausible fetched_at, or the whole line is rejected (its bytes are kept with the reason).
 */
export function parseGenericLine(json: unknown, options: ParserOptions): ParsedPayload {
  if (options.received_at !== undefined) {
    const identity = lineIdentity(json);
    const why = identity ? implausibleFetchedAt(identity.fetchedAt, options.received_at) : null;
    if (why) return { ok: false, code: 'fetched_at_out_of_range', detail: why };
  }
  return parseGenericRows(json, options);
}

const lineIdentitySchema = z.object({ venue: genericLineSchema.shape.venue, fetched_at: fetchedAtSchema });

/** Venue and time of a line, read leniently so that even a line failing its schema is filed under the right venue. */
export function lineIdentity(json: unknown): { venue: string; fetchedAt: number } | null {
  const parsed = lineIdentitySchema.safeParse(json);
  return parsed.success ? { venue: parsed.data.venue, fetchedAt: parsed.data.fetched_at } : null;
}
