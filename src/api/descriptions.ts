// What every field of the API means, in one place: the OpenAPI document gets each property's description from
// here (by `Schema.path`, else by field name) unless its schema gives its own. Units, inclusive ends, and whether
// a count is of listings or of observations are said here. A test fails on any property left without one.

/** Descriptions by field name, for the meaning a name has wherever it appears. */
const BY_NAME: Record<string, string> = {
  series: 'series code, e.g. GPUIDX-H100-SXM (GPUIDX-<CLASS> on-demand, GPUIDX-<CLASS>-SPOT interruptible, GPUIDX-COMPUTE)',
  date: 'UTC calendar date, YYYY-MM-DD: the day 00:00 (inclusive) to 24:00 (exclusive) UTC',
  revision: 'revision of the date, from 1; a correction is a new revision, the earlier ones are kept',
  status:
    'normal, extended_window (inputs from the extended window), carried_forward (the last value carried), insufficient (no value), list_price_tier (methodology v2: list prices only)',
  unit: 'unit of the values: USD per GPU-hour, or for GPUIDX-COMPUTE USD per reference-class-equivalent hour',
  value: 'the published value, in the unit; null when the status gives none',
  vwap: 'volume-weighted mean price of the included observations, in the unit (for reference, not the fixing)',
  percentiles: 'weighted percentiles of the included normalized prices: p10, p25, p75, p90, in the unit',
  min: 'lowest included normalized price, in the unit',
  max: 'highest included normalized price, in the unit',
  listings: 'distinct listings (venue + listing id) among the included observations',
  venues: 'distinct venues among the included observations',
  observations_included: 'observations (a listing seen in one snapshot) that entered the calculation',
  excluded: 'observations excluded, counted per reason (outlier, not_available, wrong_contract, ...)',
  carried_from: 'for carried_forward: the date whose value is carried; null otherwise',
  window: 'the input window read, [from, to): from inclusive, to exclusive (ISO instants, UTC)',
  from: 'first date, inclusive (YYYY-MM-DD, UTC)',
  to: 'last date, inclusive (YYYY-MM-DD, UTC)',
  methodology_version: 'methodology version the value was computed with (METHODOLOGY.md)',
  parameter_hash: "sha256 of the methodology version's parameter document as canonical JSON",
  input_digest: 'sha256 over every input with its outcome, in a stated order: the same inputs give the same digest',
  previous_input_digest: 'the input digest of the revision this one corrects; null for revision 1',
  software_version: 'gpuidx version that computed it (not part of the value)',
  computed_at: 'when the revision was published (ISO instant, UTC)',
  published_at: 'when it was published (ISO instant, UTC)',
  restatement_reason: 'why the date was corrected; null for revision 1',
  venue: 'venue name (vast, runpod, lambda, tensordock, akash, azure, or a partner file venue)',
  share: "the venue's share of the series' weight before the cap, 0 to 1",
  capped_share: "the venue's share after the venue cap, 0 to 1; the shares of a fixing sum to 1",
  algorithm: 'signature algorithm: Ed25519',
  key_id: 'id of the signing key: the first 16 hex digits of its fingerprint',
  fingerprint: "sha256 of the public key's DER encoding (hex): pin it out of band",
  public_key_pem: 'the public key, SPKI PEM',
  valid_from: 'from when the key signs (ISO instant, UTC), inclusive',
  valid_to: 'until when the key signed (ISO instant, UTC), exclusive; null while it is the active key',
  code: 'series code',
  gpu_class: 'GPU class code of the series (METHODOLOGY.md "Parameters and GPU classes"); null for GPUIDX-COMPUTE',
  contract: 'on_demand, interruptible or reserved',
  description: 'what the series measures',
  first_date: 'first date with a published fixing (YYYY-MM-DD); null if none',
  latest_date: 'latest date with a published fixing (YYYY-MM-DD); null if none',
  latest_value: "the latest date's value (latest revision), in the unit; null if none",
  latest_status: "the latest date's status (latest revision); null if none",
  fixings: 'fixings, the latest revision of each date, oldest date first',
  revisions: 'revisions, in publication order',
  venue_cap: "the largest share one venue may carry after the cap (0 to 1); null when the series' methodology has none",
  venue_shares: "each venue's share of the weight before and after the cap",
  outlier: 'the outlier fence on log prices: median, MAD and the accepted [lower, upper] price range; null when not applied',
  median_ln: 'median of the natural log of the normalized prices',
  mad: 'median absolute deviation of those logs',
  lower: 'lowest accepted normalized price (inclusive), in the unit',
  upper: 'highest accepted normalized price (inclusive), in the unit',
  inputs_total: 'every input (observation) of the fixing, all pages together',
  inputs: 'one page of inputs, in observation id order',
  observation_id: 'id of the observation (a listing as seen in one snapshot)',
  snapshot_id: 'id of the raw snapshot it was parsed from (GET /v1/snapshots/{id}/raw)',
  fetched_at: 'when the venue answered (ISO instant, UTC)',
  listing_id: "the venue's id of the listing",
  gpu_raw: 'the GPU name exactly as the venue gave it',
  gpu_count: 'GPUs in the listing',
  price_usd_per_hour: 'the listed price for the whole listing, USD per hour',
  class: 'GPU class the name was mapped to; null when unmapped',
  outcome: 'included, or the reason the input was excluded',
  p: 'price per GPU-hour, USD (listed price / GPUs)',
  f: 'throughput factor: the GPU class score relative to the reference class',
  q: 'normalized price: p / f, in the unit',
  w: 'weight before the venue cap (GPUs x time weight)',
  w_capped: 'weight after the venue cap',
  parameters: 'the methodology parameters the fixing used',
  id: 'id (publication order for fixings; storage order for snapshots)',
  source: 'http (collected) or file (imported)',
  request: 'the request that was made, with every secret redacted',
  method: 'HTTP method (IMPORT for a file line)',
  url: 'URL with secrets redacted (file:NAME#Lline for an import)',
  body: 'request body, if any',
  http_status: 'HTTP status of the response; null for a file line',
  content_type: 'Content-Type of the response',
  sha256: 'sha256 of the exact stored bytes (hex)',
  byte_size: 'size of the exact stored bytes',
  truncated: 'true when the body exceeded the configured cap and was cut there',
  redacted: 'true when one of our own API keys appeared in the body and was replaced before storage',
  parser_version: 'parser version that read the bytes (replay uses the same)',
  parser_options: 'parser options in force (for example the default quantity)',
  parse: 'what parsing made of the bytes',
  error: 'why parsing rejected rows or the whole snapshot; null when none',
  rows_total: 'rows in the payload',
  rows_accepted: 'rows that gave at least one observation',
  rows_rejected: 'rows skipped as invalid (reasons in the stored row issues)',
  rows_ignored: 'rows deliberately not used (not offered, reservations, ...)',
  version: 'methodology version',
  effective_from: 'first date (inclusive) the version applies to',
  document: 'the whole methodology document: parameters, classes, venues',
  text: 'the methodology text (METHODOLOGY.md)',
  keys: 'every signing key, active and retired',
  head: 'the signed chain head document',
  format: 'document format name',
  fixing_id: 'id of the newest revision at the time',
  chain_hash: 'sha256 of the canonical published document of that revision (the next link)',
  checked_at: 'when the checks ran (ISO instant, UTC)',
  database: 'ok when the database answered',
  problems: 'what is wrong, one sentence each; empty when healthy',
  last_success: 'end of the latest ok or partial collector run (ISO instant, UTC)',
  started_at: 'when the run started (ISO instant, UTC)',
  finished_at: 'when the run ended (ISO instant, UTC); null while running',
  month: 'calendar month, YYYY-MM (UTC)',
  days_in_month: 'calendar days in the month',
  days: 'every day of the month with its standing revision',
  rows: 'one entry per date',
  values: "each series' value on the date, in its unit; null: none published, or no value",
  dates: 'one entry per date, oldest first',
  shares: "the venues' shares on the date",
  location: 'where the bad parameter is (query.from, param.date, ...)',
  message: 'what is wrong with it',
  type: 'problem type URI (about:blank)',
  title: 'short title of the HTTP status',
  detail: 'what was wrong, in one sentence',
  instance: 'the request path',
  errors: 'one entry per bad parameter',
  signature: 'the Ed25519 signature and the exact payload it covers',
  as_of: 'the instant asked for (ISO), or null for the latest revisions',
};

/** Descriptions for a field whose meaning depends on where it is, by `Schema.path`. */
const BY_PATH: Record<string, string> = {
  'Problem.status': 'HTTP status code',
  'Signature.key_id': 'the key that made the signature (GET /v1/keys)',
  'FixingAudit.revision': 'the revision the audit is of',
  'FixingRevisions.revisions[].computed_at': 'when this revision was published (ISO instant, UTC)',
  'Health.status': 'ok, or stale when any problem is listed (the response is then 503)',
  'Health.series': 'each series with its latest published date',
  'Health.venues': 'each venue with its latest successful run',
  'Health.publisher.outcome': 'running, ok or failed',
  'Health.publisher.started_at': 'when the run started (ISO instant, UTC)',
  'ChainHead.head.published_at': 'when the chain head was signed (ISO instant, UTC), after a publication run',
  'ChainHead.head.revision': 'revision of the newest published fixing',
  'ChainHead.head.date': 'date of the newest published fixing',
  'ChainHead.head.series': 'series of the newest published fixing',
  'ChainHead.head.key_id': 'the key that signed the chain head',
  'SignedSettlement.signature': 'the signature made at publication; null while provisional',
  'Settlement.days': 'every day of the month with its standing revision and whether it counts',
  'CrossSection.date': 'the date (YYYY-MM-DD, UTC)',
  'MultiSeriesHistory.series': 'the series asked for, in the order of the CSV columns',
  'MultiSeriesHistory.rows[].date': 'a date with a fixing of any of the series',
  'VenueShares.series': 'the series',
  'RevisionsFeed.revisions[].status': 'status of the revision',
  'RevisionsFeed.revisions[].value': 'value of the revision, in its unit',
  'RevisionsFeed.revisions[].revision': 'revision number of the date',
  'SigningKeys.keys[].algorithm': 'Ed25519',
  '/v1/series 200.series': 'every series of the catalogue',
  'FixingHistory.series': 'the series',
  'Snapshot.id': 'snapshot id (storage order)',
  'Snapshot.parse.outcome': 'ok, partial (some rows skipped), rejected or pending',
  'Snapshot.request.method': 'HTTP method (IMPORT for a file line)',
  'Snapshot.request.url': 'URL with secrets redacted (file:NAME#Lline for an import)',
  'Snapshot.request.body': 'request body, if any',
  'Fixing.coverage.venues_present': 'methodology v2: admitted venues with included inputs',
  'Fixing.coverage.venues_admitted': 'methodology v2: venues admitted for the series',
  'Fixing.coverage.partitions_sufficient': 'methodology v2: hourly partitions with enough inputs',
  'Fixing.coverage.partitions': 'methodology v2: hourly partitions in the window',
  'Fixing.coverage.volume_vs_trailing_mean': "methodology v2: the fixing's volume against the mean of the trailing fixings; null without history",
  'Fixing.coverage.trailing_days': 'methodology v2: trailing fixings compared with',
  'Fixing.window.from': 'start of the input window (ISO instant, UTC), inclusive',
  'Fixing.window.to': 'end of the input window (ISO instant, UTC), exclusive',
};

type SchemaObject = {
  properties?: Record<string, SchemaObject>;
  items?: SchemaObject;
  description?: string;
  $ref?: string;
  anyOf?: SchemaObject[];
  oneOf?: SchemaObject[];
  allOf?: SchemaObject[];
  additionalProperties?: unknown;
};

/** Fills in every property description the schemas leave out; returns the paths it could not describe. */
export function describeFields(document: object): string[] {
  // The generated document, walked as the JSON it is.
  const doc = document as { components?: { schemas?: Record<string, SchemaObject> }; paths?: Record<string, Record<string, unknown>> };
  const missing: string[] = [];
  const walk = (s: SchemaObject | undefined, path: string) => {
    if (!s || typeof s !== 'object' || s.$ref) return;
    for (const [name, prop] of Object.entries(s.properties ?? {})) {
      const at = `${path}.${name}`;
      if (!prop.$ref && prop.description === undefined) {
        const text = BY_PATH[at] ?? BY_NAME[name];
        if (text) prop.description = text;
        else missing.push(at);
      }
      walk(prop, at);
    }
    walk(s.items, `${path}[]`);
    for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) walk(alt, path);
  };
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) walk(schema, name);
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const op of Object.values(ops) as { responses?: Record<string, { content?: Record<string, { schema?: SchemaObject }> }> }[]) {
      for (const [code, response] of Object.entries(op.responses ?? {})) {
        for (const content of Object.values(response.content ?? {})) walk(content.schema, `${path} ${code}`);
      }
    }
  }
  return missing;
}
