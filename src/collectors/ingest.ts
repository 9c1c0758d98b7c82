// Raw-first ingestion of one received body: store the exact bytes, then parse them, then record what parsing found.
import { createHash } from 'node:crypto';
import type { Db, ParseRecord, RawSnapshotInput } from '../storage/index.js';
import { encodeBody, encodeObservations, storeSnapshots, type StoredSnapshot } from '../storage/index.js';
import type { ParsedPayload, ParserOptions } from './adapter.js';
import { decodeJsonBody, type DecodedBody, type ReceivedBody } from './body.js';
import type { Listing } from './listing.js';
import type { Redactor } from './redact.js';

export interface IngestInput {
  venue: string;
  fetchedAt: number;
  source: 'http' | 'file';
  requestMethod: string;
  requestUrl: string;
  requestBody: string | null;
  received: ReceivedBody;
  parserVersion: string;
  parserOptions: ParserOptions;
  parse: (json: unknown, options: ParserOptions) => ParsedPayload;
  runId: number | null;
  redactor: Redactor;
  /** Our clock when the body was received (fetched_at is the sample instant, or what an imported line claims). */
  receivedAt: number;
}

export interface IngestResult {
  snapshotId: number;
  duplicate: boolean;
  outcome: 'ok' | 'partial' | 'rejected';
  error: string | null;
  observations: number;
  /** Rows the parser ignored, in total and per reason (the yield watch reads them). */
  rowsIgnored: number;
  ignoredReasons: Record<string, number>;
  /** The decoded JSON when the body decoded, for following pagination. */
  json: unknown;
}

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The bytes without a leading UTF-8 byte-order mark (the stored bytes keep it; parsing and identity do not). */
export function withoutBom(bytes: Buffer): Buffer {
  return bytes.subarray(0, 3).equals(BOM) ? bytes.subarray(3) : bytes;
}

/**
 * The identity of a body's content, independent of its transport form: a JSON body is hashed as its parsed value
 * written back without whitespace (so whitespace, CRLF line endings and a BOM never make the same snapshot twice);
 * anything else as its bytes with the BOM removed, CRLF turned into LF and surrounding whitespace trimmed. `json`
 * is the body already decoded (BOM removed), when the caller has it, to spare a second parse of a large body.
 */
export function contentKey(bytes: Buffer, json?: unknown): string {
  if (json !== undefined) return sha256Hex(`json:${JSON.stringify(json)}`);
  const text = withoutBom(bytes).toString('utf8');
  try {
    return sha256Hex(`json:${JSON.stringify(JSON.parse(text))}`);
  } catch {
    return sha256Hex(`bytes:${text.replace(/\r\n/g, '\n').trim()}`);
  }
}

function toObservation(l: Listing, seq: number) {
  return {
    seq,
    listing_id: l.listing_id,
    host_id: l.host_id,
    gpu_raw: l.gpu,
    gpu_count: l.gpu_count,
    price_usd_per_hour: l.price_usd_per_hour,
    contract: l.contract,
    available: l.available ? 1 : 0,
    perf_system: l.perf?.system ?? null,
    perf_score_per_gpu: l.perf?.score_per_gpu ?? null,
    region: l.region,
    quantity_reported: l.quantity_reported ? 1 : 0,
    machine_id: l.machine_id,
    gpu_memory_gb: l.gpu_memory_gb,
  };
}

function summarizeIssues(p: Extract<ParsedPayload, { ok: true }>): string {
  const byCode = new Map<string, number>();
  for (const i of p.issues) byCode.set(i.code, (byCode.get(i.code) ?? 0) + 1);
  const counts = [...byCode].map(([code, n]) => `${code} x${n}`).join(', ');
  const first = p.issues[0]!;
  return `${p.issues.length} of ${p.rowsTotal} rows rejected (${counts}); first: row ${first.rowIndex}${first.listingId ? ` (${first.listingId})` : ''}: ${first.detail}`;
}

/** A body rejected as a whole, with its reason: no rows, no observations. */
export function rejectedParse(error: string): ParseRecord {
  return { outcome: 'rejected', error, rowsTotal: 0, rowsAccepted: 0, rowsIgnored: 0, ignoredReasons: {}, observations: [], issues: [] };
}

/** What a decoded-and-parsed body amounts to, ready to be recorded against its snapshot. */
export function toParseRecord(
  received: ReceivedBody,
  parse: IngestInput['parse'],
  options: ParserOptions,
  decoded?: DecodedBody,
): { record: ParseRecord; json: unknown } {
  try {
    return parseRecordOf(received, parse, options, decoded);
  } catch (err) {
    // A parser fault is a fact about this payload: the bytes are stored all the same, marked with the reason.
    const detail = err instanceof Error ? err.message : String(err);
    return { record: rejectedParse(`parser_failed: ${detail.replace(/\s+/g, ' ').slice(0, 300)}`), json: undefined };
  }
}

function parseRecordOf(
  received: ReceivedBody,
  parse: IngestInput['parse'],
  options: ParserOptions,
  given?: DecodedBody,
): { record: ParseRecord; json: unknown } {
  const decoded = given ?? decodeJsonBody(options.strip_bom ? { ...received, body: withoutBom(received.body) } : received);
  if (!decoded.ok) {
    return { record: rejectedParse(`${decoded.code}: ${decoded.detail}`), json: undefined };
  }
  const payload = parse(decoded.json, options);
  if (!payload.ok) {
    return { record: rejectedParse(`${payload.code}: ${payload.detail}`), json: decoded.json };
  }
  const observations = payload.listings.map((l, seq) => toObservation(l.listing, seq));
  const issues = payload.issues;
  let outcome: ParseRecord['outcome'] = 'ok';
  let error: string | null = null;
  if (issues.length > 0) {
    // Some rows failed: keep the rest (partial). If nothing survived, the payload as a whole is rejected.
    outcome = observations.length > 0 ? 'partial' : 'rejected';
    error = summarizeIssues(payload);
  }
  // A payload row is accepted when it gave at least one observation (a Vast.ai offer gives two: its ask and its bid).
  const rowsAccepted = new Set(payload.listings.map((l) => l.row)).size;
  const ignoredReasons = Object.fromEntries(Object.entries(payload.ignoredReasons).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    record: { outcome, error, rowsTotal: payload.rowsTotal, rowsAccepted, rowsIgnored: payload.ignored, ignoredReasons, observations, issues },
    json: decoded.json,
  };
}

/** A body ready to be stored: parsed, hashed, its bytes and its observations compressed (a large body on the thread pool). */
export interface PreparedIngest {
  input: IngestInput;
  received: ReceivedBody;
  redacted: boolean;
  record: ParseRecord;
  json: unknown;
  snapshot: RawSnapshotInput;
}

/**
 * Everything about storing a body that needs no database: the parse, the hashes, and the compression of the bytes
 * and of the observations. A caller with several bodies prepares them, then stores them in one transaction
 * (`gpuidx import` does). `decoded`: the body already decoded as JSON, when the caller decoded it.
 */
export function prepareIngest(input: IngestInput, decoded?: DecodedBody): PreparedIngest {
  // Raw bytes are stored as received, with one exception: a venue echoing one of our API keys back.
  // The key is replaced before storage and the snapshot says so; everything else stays byte-exact.
  const redacted = input.redactor.containsSecret(input.received.body);
  const received = redacted ? { ...input.received, body: Buffer.from(input.redactor.text(input.received.body.toString('latin1')), 'latin1') } : input.received;
  // A large body compresses on the thread pool while this thread parses.
  const encoded = encodeBody(received.body);
  encoded.catch(() => {});
  const { record: parsed, json } = toParseRecord(received, input.parse, input.parserOptions, redacted ? undefined : decoded);
  const encodedObservations = encodeObservations(parsed.observations);
  encodedObservations.catch(() => {});
  const record = { ...parsed, error: parsed.error === null ? null : input.redactor.text(parsed.error) };
  return {
    input,
    received,
    redacted,
    record,
    json,
    snapshot: {
      venue: input.venue,
      fetchedAt: input.fetchedAt,
      source: input.source,
      requestMethod: input.requestMethod,
      requestUrl: input.requestUrl,
      requestBody: input.requestBody,
      httpStatus: received.status,
      contentType: received.contentType,
      body: received.body,
      encoded,
      encodedObservations,
      sha256: sha256Hex(received.body),
      // A body that decoded is hashed from its decoded value: the same value a second parse would give.
      contentSha256: contentKey(received.body, json),
      receivedAt: input.receivedAt,
      truncated: received.truncated,
      redacted,
      parserVersion: input.parserVersion,
      parserOptions: { ...input.parserOptions },
      runId: input.runId,
    },
  };
}

/** Stores a prepared body, raw bytes and parse in one transaction. */
export async function commitIngest(db: Db, p: PreparedIngest): Promise<IngestResult> {
  return (await commitIngests(db, [p]))[0]!;
}

/** Stores prepared bodies in order, in one transaction (all or none of them). */
export async function commitIngests(db: Db, prepared: readonly PreparedIngest[]): Promise<IngestResult[]> {
  const stored = await storeSnapshots(
    db,
    prepared.map((p) => ({ snapshot: p.snapshot, parse: p.record })),
  );
  return stored.map((s, i) => resultOf(prepared[i]!, s));
}

function resultOf(p: PreparedIngest, stored: StoredSnapshot): IngestResult {
  return {
    snapshotId: stored.id,
    duplicate: stored.duplicate,
    outcome: stored.outcome,
    error: stored.error,
    observations: stored.duplicate ? 0 : p.record.observations.length,
    rowsIgnored: p.record.rowsIgnored,
    ignoredReasons: p.record.ignoredReasons,
    json: p.json,
  };
}

export async function ingestBody(db: Db, input: IngestInput): Promise<IngestResult> {
  return commitIngest(db, prepareIngest(input));
}
