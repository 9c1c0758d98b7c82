// The contract of a venue adapter, and the one pipeline that turns a decoded payload into listings, issues and ignored rows.
import cron from 'node-cron';
import { z } from 'zod';
import type { HttpRequestSpec } from './http.js';
import { classifyListingIssue, describeZodError, listingSchema, type Listing } from './listing.js';

export const cronSchema = z.string().refine((s) => cron.validate(s), {
  message: 'not a valid cron expression (five or six fields, for example "*/10 * * * *")',
});

/** Settings every venue has; each adapter extends them with its own. */
export const venueBaseConfig = z.object({
  enabled: z.boolean().default(true),
  schedule: cronSchema.default('*/10 * * * *'),
  /** Overrides the venue's public endpoint, for a partner mirror or the local simulator. */
  base_url: z.url().optional(),
  /** Quantity recorded where the venue reports no GPU quantity (list-price clouds): units of the venue's listing. */
  default_quantity: z.number().int().min(1).default(1),
  max_pages: z.number().int().min(1).default(50),
});
export type VenueBaseConfig = z.infer<typeof venueBaseConfig>;

/** What a parser needs besides the bytes; stored with each snapshot so a replay parses identically. */
export interface ParserOptions {
  default_quantity: number;
  /** Set on snapshots stored since the BOM rule: a leading UTF-8 BOM is removed before decoding. */
  strip_bom?: boolean;
  /** Our clock when an imported line was received: its claimed fetched_at is checked against it (generic venue). */
  received_at?: number;
}

/** A listing a venue row maps to, before validation against `listingSchema`. */
export type ListingCandidate = z.input<typeof listingSchema>;

/** What one venue row becomes: listings, a deliberate skip (not a GPU, not offered), or a row-level rejection. */
export type RowMapping = ListingCandidate[] | { ignored: string } | { rejected: string; detail: string };

export interface ParsedListing {
  /** Index of the venue row it came from. */
  row: number;
  listing: Listing;
}

export interface ParsedIssue {
  rowIndex: number;
  listingId: string | null;
  code: string;
  detail: string;
}

export type ParsedPayload =
  | { ok: false; code: 'schema_mismatch' | 'venue_error' | 'fetched_at_out_of_range'; detail: string }
  | { ok: true; rowsTotal: number; listings: ParsedListing[]; issues: ParsedIssue[]; ignored: number; ignoredReasons: Record<string, number> };

export interface VenueAdapter<C extends VenueBaseConfig = VenueBaseConfig> {
  readonly venue: string;
  /** `venue/N`: bump N whenever parsing changes, so old snapshots keep naming the parser that read them. */
  readonly parserVersion: string;
  readonly apiKeyEnv: string | null;
  /** True when the venue refuses anonymous calls; false when the key is optional. */
  readonly keyRequired: boolean;
  readonly configSchema: z.ZodType<C>;
  buildRequests(config: C, apiKey: string | undefined): HttpRequestSpec[];
  /** The next page to fetch after a successful page, if the venue paginates. */
  nextPage?(json: unknown, current: HttpRequestSpec): HttpRequestSpec | null;
  parse(json: unknown, options: ParserOptions): ParsedPayload;
}

export interface RowParserSpec<E, R> {
  envelope: z.ZodType<E>;
  /** A venue-level error inside a 200 response (GraphQL `errors`, an error object). */
  venueError?: (json: unknown) => string | null;
  rows: (envelope: E) => readonly unknown[];
  row: z.ZodType<R>;
  /** Best-effort id of a raw row, for naming a row that failed its schema. */
  rowId?: (raw: unknown) => string | null;
  toListings: (row: R, options: ParserOptions) => RowMapping;
}

function idOf(raw: unknown, key: string): string | null {
  if (raw && typeof raw === 'object' && key in raw) {
    const v = (raw as Record<string, unknown>)[key];
    if (typeof v === 'string' || typeof v === 'number') return String(v);
  }
  return null;
}

// A candidate object is checked once: an adapter that checks its candidates itself (Vast, to decide on the bid
// listing) hands the same objects to rowParser, which would otherwise run the schema over them a second time.
const checked = new WeakMap<object, ReturnType<typeof listingSchema.safeParse>>();

/** The listing schema's verdict on a candidate, computed once per candidate object. */
export function checkListing(candidate: ListingCandidate): ReturnType<typeof listingSchema.safeParse> {
  let r = checked.get(candidate);
  if (!r) checked.set(candidate, (r = listingSchema.safeParse(candidate)));
  return r;
}

export const rowIdFrom = (key: string) => (raw: unknown) => idOf(raw, key);

/** Builds an adapter's `parse` from its envelope schema, row schema and row mapping. */
export function rowParser<E, R>(spec: RowParserSpec<E, R>): (json: unknown, options: ParserOptions) => ParsedPayload {
  return (json, options) => {
    const venueError = spec.venueError?.(json) ?? null;
    if (venueError) return { ok: false, code: 'venue_error', detail: venueError };
    const env = spec.envelope.safeParse(json);
    if (!env.success) return { ok: false, code: 'schema_mismatch', detail: describeZodError(env.error) };
    const rawRows = spec.rows(env.data);
    const listings: ParsedListing[] = [];
    const issues: ParsedIssue[] = [];
    const ignoredReasons: Record<string, number> = {};
    let ignored = 0;
    rawRows.forEach((raw, index) => {
      const row = spec.row.safeParse(raw);
      if (!row.success) {
        issues.push({ rowIndex: index, listingId: spec.rowId?.(raw) ?? null, code: 'row_schema', detail: describeZodError(row.error) });
        return;
      }
      const mapped = spec.toListings(row.data, options);
      if ('ignored' in mapped) {
        ignored += 1;
        ignoredReasons[mapped.ignored] = (ignoredReasons[mapped.ignored] ?? 0) + 1;
        return;
      }
      if ('rejected' in mapped) {
        issues.push({ rowIndex: index, listingId: spec.rowId?.(raw) ?? null, code: mapped.rejected, detail: mapped.detail });
        return;
      }
      for (const candidate of mapped) {
        const checked = checkListing(candidate);
        if (checked.success) listings.push({ row: index, listing: checked.data });
        else {
          const first = checked.error.issues[0]!;
          issues.push({
            rowIndex: index,
            listingId: typeof candidate.listing_id === 'string' ? candidate.listing_id : null,
            code: classifyListingIssue(first, candidate),
            detail: describeZodError(checked.error),
          });
        }
      }
    });
    return { ok: true, rowsTotal: rawRows.length, listings, issues, ignored, ignoredReasons };
  };
}

/** A row's listings with the memory per GPU the row reports (null: not reported, left out); for the parser versions that read it. */
export function withMemory(mapping: RowMapping, memoryGb: number | null): RowMapping {
  return Array.isArray(mapping) && memoryGb !== null ? mapping.map((l) => ({ ...l, gpu_memory_gb: memoryGb })) : mapping;
}

/** A memory per GPU as a venue reports it: a positive, finite number of GB, or null (absent or unusable, never guessed). */
export function memoryGb(gb: number | null | undefined): number | null {
  return gb != null && Number.isFinite(gb) && gb > 0 ? gb : null;
}

/** The first capture of `pattern` in `text` as a memory per GPU in GB, or null: memory stated in a venue's names. */
export function memoryIn(text: string | null | undefined, pattern: RegExp): number | null {
  const m = text ? pattern.exec(text) : null;
  return memoryGb(m ? Number(m[1]) : null);
}

/** Joins a venue's base URL and a path without doubling or losing slashes. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
