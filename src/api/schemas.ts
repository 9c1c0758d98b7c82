// Zod schemas of the API's parameters and responses: they validate requests and generate /openapi.json.
import { z } from '@hono/zod-openapi';

export { z };

export const dateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'a UTC date is written YYYY-MM-DD', abort: true })
  .refine((s) => {
    const t = Date.parse(`${s}T00:00:00Z`);
    return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === s;
  }, 'not a calendar date')
  .openapi({ example: '2026-11-20' });

export const seriesCodeSchema = z
  .string()
  .regex(/^GPUIDX-[A-Z0-9-]+$/, 'a series code looks like GPUIDX-H100-SXM')
  .openapi({ param: { name: 'code', in: 'path' }, example: 'GPUIDX-H100-SXM' });

const revisionSchema = z.coerce
  .number({ error: 'revision must be a whole number >= 1' })
  .int('revision must be a whole number >= 1')
  .min(1, 'revision must be a whole number >= 1')
  .openapi({ example: 1, type: 'integer' });

export const formatSchema = z.enum(['json', 'csv']).optional();

/** `as_of`: an instant (ISO 8601 with a zone); the answer is what had been published by then. */
export const asOfSchema = z
  .string()
  .refine((v) => /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(v) && Number.isFinite(Date.parse(v)), 'as_of is an instant like 2026-11-21T18:00:00Z')
  .transform((v) => Date.parse(v))
  .optional()
  .openapi({
    description: 'answer with what had been published at this instant (ISO 8601 with a zone, e.g. 2026-11-21T18:00:00Z): revisions published later are ignored',
    example: '2026-11-21T18:00:00Z',
    type: 'string',
  });

export const seriesParams = z.object({ code: seriesCodeSchema });
export const fixingParams = z.object({
  code: seriesCodeSchema,
  date: dateSchema.openapi({ param: { name: 'date', in: 'path' } }),
});
export const historyQuery = z.strictObject({
  from: dateSchema.optional().openapi({ description: 'first date (default: 365 days before `to`)' }),
  to: dateSchema.optional().openapi({ description: 'last date, inclusive (default: today, UTC)' }),
  format: formatSchema.openapi({ description: 'csv for a spreadsheet-ready CSV (same as Accept: text/csv)' }),
  as_of: asOfSchema,
});
export const revisionQuery = z.strictObject({ revision: revisionSchema.optional(), as_of: asOfSchema });
export const asOfQuery = z.strictObject({ as_of: asOfSchema });
export const noQuery = z.strictObject({});
export const auditQuery = z.strictObject({
  revision: revisionSchema.optional(),
  as_of: asOfSchema,
  after: z.coerce.number().int().min(0).optional().openapi({ description: 'cursor: the last observation id of the previous page', type: 'integer' }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .optional()
    .openapi({ description: 'rows per page: 1 to 1000 for JSON (default 1000), up to 100000 for CSV (default 100000); follow next for more', type: 'integer' }),
  venue: z.string().min(1).max(100).optional().openapi({ description: 'only the inputs from this venue' }),
  outcome: z
    .string()
    .regex(/^[a-z_]+$/, 'outcome is included or an exclusion reason such as outlier')
    .optional()
    .openapi({ description: 'only the inputs with this outcome: included, or an exclusion reason (outlier, not_available, wrong_contract, ...)' }),
  format: formatSchema.openapi({ description: 'csv: the page as CSV, the next page in a Link header (rel="next")' }),
});
export const snapshotParams = z.object({
  id: z.coerce
    .number()
    .int()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' }, example: 1, type: 'integer' }),
});
export const methodologyParams = z.object({
  version: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, 'a methodology version looks like 1.0.0')
    .openapi({ param: { name: 'version', in: 'path' }, example: '1.0.0' }),
});

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ location: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const signatureSchema = z
  .object({
    algorithm: z.literal('Ed25519'),
    key_id: z.string(),
    value: z.string().openapi({ description: 'base64 Ed25519 signature over the UTF-8 bytes of payload' }),
    payload: z.string().openapi({ description: 'the exact canonical JSON signed: the fixing object, keys sorted, no whitespace' }),
  })
  .openapi('Signature');

export const fixingSchema = z
  .object({
    series: z.string(),
    date: z.string(),
    revision: z.number().int(),
    status: z.enum(['normal', 'extended_window', 'carried_forward', 'insufficient', 'list_price_tier']),
    unit: z.string(),
    value: z.number().nullable(),
    vwap: z.number().nullable(),
    percentiles: z.record(z.string(), z.number()).nullable(),
    min: z.number().nullable(),
    max: z.number().nullable(),
    listings: z.number().int(),
    venues: z.number().int(),
    observations_included: z.number().int(),
    volume: z.number().openapi({ description: 'GPU-hours offered by the included listings (uncapped weights)' }),
    excluded: z.record(z.string(), z.number().int()),
    carried_from: z.string().nullable(),
    window: z.object({ from: z.string(), to: z.string() }),
    methodology_version: z.string(),
    parameter_hash: z.string(),
    input_digest: z.string(),
    software_version: z.string(),
    computed_at: z.string(),
    restatement_reason: z.string().nullable(),
    previous_input_digest: z.string().nullable(),
    parser_versions: z.array(z.string()).openapi({ description: 'parser versions of the snapshots read; replay uses the same' }),
    inputs_through_snapshot: z.number().int().nullable().openapi({ description: 'newest snapshot id the inputs could include' }),
    previous_chain_hash: z
      .string()
      .nullable()
      .openapi({ description: 'sha256 of the canonical JSON of the revision published just before this one (hash chain)' }),
    coverage: z
      .object({
        venues_present: z.number().int(),
        venues_admitted: z.number().int(),
        partitions_sufficient: z.number().int(),
        partitions: z.number().int(),
        volume_vs_trailing_mean: z.number().nullable(),
        trailing_days: z.number().int(),
      })
      .optional()
      .openapi({
        description:
          'methodology v2: admitted venues with included inputs, of those admitted; sufficient hourly partitions, of those in the window; the volume against the mean of the trailing fixings (trailing_days of them)',
      }),
    degraded: z.boolean().optional().openapi({ description: 'methodology v2: a venue that usually carries a large share of the series is missing' }),
    missing_venues: z.array(z.string()).optional().openapi({ description: 'methodology v2: those venues' }),
    key_id: z
      .string()
      .optional()
      .openapi({ description: 'the key that signed this revision when it was published (absent on revisions published before signatures were stored)' }),
    evidence_sha256: z
      .string()
      .optional()
      .openapi({ description: 'sha256 of the stored evidence JSON (venue shares, outlier fences) published with this revision' }),
    audit_sha256: z.string().optional().openapi({
      description:
        "sha256 of the canonical form of every audit row of this revision (methodology/AUDIT.md, 'Audit blocks'); absent on revisions published before 2026-12-03",
    }),
  })
  .openapi('Fixing');

export const signedFixingSchema = z
  .object({
    fixing: fixingSchema,
    signature: signatureSchema.nullable().openapi({
      description: 'the signature made when the revision was published, served as stored; null only for revisions published before signatures were stored',
    }),
    venue_shares: z
      .array(
        z.object({
          venue: z.string(),
          share: z.number().openapi({ description: "the venue's share of the series' weight before the venue cap (0 to 1)" }),
          capped_share: z.number().openapi({ description: 'its share after the cap (0 to 1)' }),
        }),
      )
      .openapi({
        description:
          "each venue's share of the fixing's weight before and after the cap, from the evidence the revision was published with (bound to the signature through fixing.evidence_sha256); the full evidence is in /audit",
      }),
  })
  .openapi('SignedFixing');

export const seriesSchema = z
  .object({
    code: z.string(),
    gpu_class: z.string().nullable(),
    contract: z.enum(['on_demand', 'interruptible']),
    unit: z.string(),
    description: z.string(),
    first_date: z.string().nullable(),
    latest_date: z.string().nullable(),
    latest_value: z.number().nullable(),
    latest_status: z.string().nullable(),
  })
  .openapi('Series');

export const historySchema = z.object({ series: z.string(), from: z.string(), to: z.string(), fixings: z.array(fixingSchema) }).openapi('FixingHistory');

export const revisionsSchema = z
  .object({
    series: z.string(),
    date: z.string(),
    revisions: z.array(
      z.object({
        revision: z.number().int(),
        value: z.number().nullable(),
        status: z.string(),
        input_digest: z.string(),
        previous_input_digest: z.string().nullable(),
        restatement_reason: z.string().nullable(),
        computed_at: z.string(),
      }),
    ),
  })
  .openapi('FixingRevisions');

export const auditSchema = z
  .object({
    series: z.string(),
    date: z.string(),
    revision: z.number().int(),
    input_digest: z.string(),
    methodology_version: z.string(),
    parameters: z.record(z.string(), z.unknown()),
    venue_cap: z.number().nullable(),
    venue_shares: z.array(z.object({ venue: z.string(), share: z.number(), capped_share: z.number() })),
    outlier: z.object({ median_ln: z.number(), mad: z.number(), lower: z.number(), upper: z.number() }).nullable(),
    inputs_total: z.number().int(),
    audit_sha256: z.string().nullable().openapi({
      description: 'sha256 of the canonical form of all inputs_total rows, as in the signed fixing; null for revisions published before 2026-12-03',
    }),
    inputs: z.array(
      z.object({
        observation_id: z.number().int(),
        snapshot_id: z.number().int(),
        seq: z.number().int().openapi({ description: "the observation's position in its snapshot (with the snapshot, its identity across databases)" }),
        venue: z.string(),
        fetched_at: z.string(),
        listing_id: z.string(),
        gpu_raw: z.string(),
        gpu_count: z.number(),
        price_usd_per_hour: z.number(),
        contract: z.string(),
        class: z.string().nullable(),
        outcome: z.string().openapi({ description: '"included" or the exclusion reason' }),
        p: z.number().nullable(),
        f: z.number().nullable(),
        q: z.number().nullable(),
        w: z.number().nullable(),
        w_capped: z.number().nullable(),
      }),
    ),
    next: z.string().nullable().openapi({ description: 'URL of the next page, null on the last' }),
  })
  .openapi('FixingAudit');

export const snapshotSchema = z
  .object({
    id: z.number().int(),
    venue: z.string(),
    fetched_at: z.string(),
    received_at: z.string().nullable().openapi({ description: 'when gpuidx stored the snapshot (null on snapshots stored before this was recorded)' }),
    source: z.string(),
    request: z.object({ method: z.string(), url: z.string(), body: z.string().nullable() }),
    http_status: z.number().int().nullable(),
    content_type: z.string().nullable(),
    sha256: z.string(),
    byte_size: z.number().int(),
    truncated: z.boolean(),
    redacted: z.boolean(),
    parser_version: z.string(),
    parser_options: z.record(z.string(), z.unknown()),
    parse: z.object({
      outcome: z.string(),
      error: z.string().nullable(),
      rows_total: z.number().int().nullable(),
      rows_accepted: z
        .number()
        .int()
        .nullable()
        .openapi({ description: 'payload rows that gave at least one observation (a Vast.ai offer gives its ask and its bid)' }),
      rows_rejected: z.number().int().nullable(),
      rows_ignored: z.number().int().nullable(),
      ignored_reasons: z
        .record(z.string(), z.number().int())
        .nullable()
        .openapi({ description: 'the ignored rows counted per reason (null on snapshots stored before it was kept)' }),
    }),
    raw: z.string().openapi({ description: 'URL of the exact stored bytes' }),
  })
  .openapi('Snapshot');

export const keysSchema = z
  .object({
    keys: z.array(
      z.object({
        key_id: z.string().openapi({ description: 'first 16 hex digits of the fingerprint' }),
        algorithm: z.literal('Ed25519'),
        public_key_pem: z.string(),
        fingerprint: z.string().openapi({ description: 'sha256 (hex) of the public key DER (SPKI) bytes: pin this' }),
        valid_from: z.string().openapi({ description: 'first instant the key signs (inclusive)' }),
        valid_to: z.string().nullable().openapi({ description: 'instant the key was retired (exclusive); null for the active key' }),
      }),
    ),
  })
  .openapi('SigningKeys');

export const chainHeadSchema = z
  .object({
    head: z.object({
      format: z.literal('gpuidx-chain-head/1'),
      chain_hash: z
        .string()
        .openapi({ description: 'sha256 of the canonical published document of the newest revision; keep it and check later with gpuidx verify --head' }),
      fixing_id: z.number().int(),
      series: z.string(),
      date: z.string(),
      revision: z.number().int(),
      revisions: z.number().int().openapi({ description: 'revisions published up to and including this one' }),
      published_at: z.string(),
      key_id: z.string(),
    }),
    signature: signatureSchema,
  })
  .openapi('ChainHead');

export const healthSchema = z
  .object({
    status: z.enum(['ok', 'stale']),
    checked_at: z.string(),
    database: z.literal('ok'),
    engine: z
      .enum(['sqlite', 'postgres'])
      .openapi({ description: 'The database engine this replica reads: every replica of one deployment reads the same database.' }),
    problems: z.array(z.string()),
    publisher: z
      .object({
        date: z.string().openapi({ description: 'The date (YYYY-MM-DD) the run published.' }),
        publisher: z.string().openapi({ description: 'host:pid of the process that held the publisher lease.' }),
        outcome: z.enum(['running', 'ok', 'failed']),
        started_at: z.string(),
        finished_at: z.string().nullable(),
        published: z.number().int().openapi({ description: 'Series revisions the run published.' }),
        unchanged: z.number().int().openapi({ description: 'Series whose published revision the run found unchanged.' }),
        refused: z.number().int().openapi({ description: 'Series whose inputs differ from the published revision (they need a restatement).' }),
      })
      .nullable()
      .openapi({
        description: "The scheduled publisher's latest run (gpuidx run, publisher role); null when none has run. `gpuidx fix` runs are not recorded here.",
      }),
    venues: z.array(z.object({ venue: z.string(), last_success: z.string() })),
    series: z.array(z.object({ series: z.string(), latest_date: z.string() })),
  })
  .openapi('Health');

export const monthSchema = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month is written YYYY-MM')
  .openapi({ param: { name: 'month', in: 'path' }, example: '2026-11' });
export const settlementParams = z.object({ code: seriesCodeSchema, month: monthSchema });
export const settlementQuery = z.strictObject({
  format: formatSchema.openapi({ description: 'csv for the daily values used, one row per date (same as Accept: text/csv)' }),
});

export const settlementDaySchema = z
  .object({
    date: z.string().openapi({ description: 'a date of the month (YYYY-MM-DD, UTC)' }),
    revision: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'the revision standing at the cut-off (before it: the latest); null when none was published' }),
    status: z.string().nullable().openapi({ description: "that revision's status (normal, extended_window, carried_forward, insufficient, list_price_tier)" }),
    value: z.number().nullable().openapi({ description: "that revision's value, in the series' unit; null when it has none" }),
    counted: z.boolean().openapi({ description: 'whether the value is part of the mean' }),
    excluded: z
      .enum(['no_fixing', 'no_value'])
      .nullable()
      .openapi({ description: 'why the day does not count: no fixing published, or a fixing without a value' }),
  })
  .openapi('SettlementDay');

export const settlementSchema = z
  .object({
    rule: z.string().openapi({ description: 'the settlement rule (METHODOLOGY.md "Monthly settlement prices")', example: 'settlement/1' }),
    rule_hash: z.string().openapi({ description: "sha256 of the rule's parameter file (methodology/settlement-1.json) as canonical JSON" }),
    series: z.string(),
    month: z.string().openapi({ example: '2026-11' }),
    status: z.enum(['final', 'provisional', 'insufficient']).openapi({
      description:
        'final once published after the cut-off; provisional (unsigned, computed on request) before; insufficient: final, with too few valued days for a value',
    }),
    value: z.number().nullable().openapi({ description: 'the arithmetic mean of the counted daily values, rounded half away from zero to 4 decimals' }),
    unit: z.string(),
    cutoff: z.string().openapi({ description: 'the instant (ISO, UTC) at which the standing revisions are read: the month end plus 48 hours' }),
    days_in_month: z.number().int(),
    days_counted: z.number().int().openapi({ description: 'days whose standing revision has a value (carried-forward values count)' }),
    days: z.array(settlementDaySchema),
    key_id: z.string().optional().openapi({ description: 'the key that signed it (published settlements only)' }),
    revision: z.number().int().optional().openapi({ description: 'the revision of the published settlement (published settlements only)' }),
    computed_at: z.string().optional().openapi({ description: 'when it was published (published settlements only)' }),
  })
  .openapi('Settlement');

export const signedSettlementSchema = z
  .object({ settlement: settlementSchema, signature: signatureSchema.nullable().openapi({ description: 'null while provisional' }) })
  .openapi('SignedSettlement');

export const crossSectionParams = z.object({ date: dateSchema.openapi({ param: { name: 'date', in: 'path' } }) });
export const crossSectionQuery = z.strictObject({
  as_of: asOfSchema,
  format: formatSchema.openapi({ description: 'csv: one row per series (same columns as the history CSV)' }),
});
export const crossSectionSchema = z
  .object({
    date: z.string(),
    as_of: z.string().nullable().openapi({ description: 'the instant asked for, or null for the latest revisions' }),
    fixings: z.array(signedFixingSchema).openapi({ description: "each series' latest revision of the date (as published by as_of), in series order, signed" }),
  })
  .openapi('CrossSection');

export const multiHistoryQuery = z.strictObject({
  series: z
    .string()
    .regex(/^GPUIDX-[A-Z0-9-]+(,GPUIDX-[A-Z0-9-]+)*$/, 'series is a comma-separated list of series codes, e.g. GPUIDX-H100-SXM,GPUIDX-A100-80GB')
    .openapi({ description: 'comma-separated series codes (at most 50)', example: 'GPUIDX-H100-SXM,GPUIDX-COMPUTE' }),
  from: dateSchema.optional().openapi({ description: 'first date (default: 365 days before `to`)' }),
  to: dateSchema.optional().openapi({ description: 'last date, inclusive (default: today, UTC)' }),
  as_of: asOfSchema,
  format: formatSchema.openapi({ description: 'csv: one row per date, one value column per series' }),
});
export const multiHistorySchema = z
  .object({
    series: z.array(z.string()),
    from: z.string(),
    to: z.string(),
    rows: z
      .array(z.object({ date: z.string(), values: z.record(z.string(), z.number().nullable()) }))
      .openapi({ description: "one entry per date with a fixing of any of the series: each series' value (null: none, or insufficient)" }),
  })
  .openapi('MultiSeriesHistory');

export const revisionsFeedQuery = z.strictObject({
  since: z
    .string()
    .refine((v) => Number.isFinite(Date.parse(v)) && /T/.test(v), 'since is an instant like 2026-11-21T00:00:00Z')
    .transform((v) => Date.parse(v))
    .openapi({ description: 'revisions published after this instant (ISO 8601 with a zone)', example: '2026-11-21T00:00:00Z', type: 'string' }),
  after: z.coerce.number().int().min(0).optional().openapi({ description: 'cursor: the `next_after` of the previous page', type: 'integer' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({ description: 'revisions per page, 1 to 1000', type: 'integer' }),
});
export const revisionsFeedSchema = z
  .object({
    revisions: z
      .array(
        z.object({
          id: z.number().int().openapi({ description: 'publication order (the hash chain order)' }),
          series: z.string(),
          date: z.string(),
          revision: z.number().int(),
          kind: z.enum(['new', 'restatement']).openapi({ description: 'new: revision 1 of a date; restatement: a correction of a published date' }),
          methodology_version: z.string(),
          status: z.string(),
          value: z.number().nullable(),
          restatement_reason: z.string().nullable(),
          published_at: z.string(),
          url: z.string().openapi({ description: 'the signed fixing, pinned to this revision' }),
        }),
      )
      .openapi({ description: 'in publication order' }),
    next: z.string().nullable().openapi({ description: 'the next page, or null when this one is the last' }),
  })
  .openapi('RevisionsFeed');

export const venueSharesQuery = z.strictObject({
  from: dateSchema.optional().openapi({ description: 'first date (default: 365 days before `to`)' }),
  to: dateSchema.optional().openapi({ description: 'last date, inclusive (default: today, UTC)' }),
  as_of: asOfSchema,
});
export const venueSharesSchema = z
  .object({
    series: z.string(),
    from: z.string(),
    to: z.string(),
    dates: z
      .array(
        z.object({
          date: z.string(),
          revision: z.number().int().openapi({ description: 'the revision whose evidence this is (the latest of the date, or as of as_of)' }),
          shares: z.array(
            z.object({
              venue: z.string(),
              share: z.number().openapi({ description: "the venue's share of the weight before the cap (0 to 1)" }),
              capped_share: z.number().openapi({ description: 'after the cap (0 to 1); the shares of a date sum to 1' }),
            }),
          ),
        }),
      )
      .openapi({ description: 'one entry per published date in [from, to], oldest first; a date without a volume-weighted value has no shares' }),
  })
  .openapi('VenueShares');
