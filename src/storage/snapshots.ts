// Repository for raw snapshots and what parsing made of them: observations and per-row issues.
import { encodeBody, insertBody, type EncodedBody } from './bodies.js';
import { nextId } from './ids.js';
import type { Db } from './db.js';
import { encodeObservations, insertObservationBlock, nextObservationId, type EncodedObservationBlock } from './observation-blocks.js';
import type { ParseOutcome, ParsedObservation, Snapshot } from './schema.js';

export interface RawSnapshotInput {
  venue: string;
  fetchedAt: number;
  source: 'http' | 'file';
  requestMethod: string;
  requestUrl: string;
  requestBody: string | null;
  httpStatus: number | null;
  contentType: string | null;
  body: Buffer;
  /** The body's stored form, when the caller started encoding it already (to overlap it with parsing). */
  encoded?: Promise<EncodedBody>;
  /** The parse's observation block, when the caller started encoding it already. */
  encodedObservations?: Promise<EncodedObservationBlock>;
  sha256: string;
  /** sha256 of the canonical content: two snapshots of one venue and instant with the same content are one. */
  contentSha256: string;
  /** Our clock when the bytes were received. */
  receivedAt: number;
  truncated: boolean;
  redacted: boolean;
  parserVersion: string;
  parserOptions: Record<string, unknown>;
  runId: number | null;
}

export interface StoredSnapshot {
  id: number;
  /** True when an identical snapshot (same bytes, or same canonical content, of one venue and instant) was already stored; nothing new was written. */
  duplicate: boolean;
  /** The outcome on record: this parse's, or the earlier snapshot's for a duplicate. */
  outcome: Exclude<ParseOutcome, 'pending'>;
  error: string | null;
}

function snapshotRow(s: RawSnapshotInput) {
  return {
    venue: s.venue,
    fetched_at: s.fetchedAt,
    source: s.source,
    request_method: s.requestMethod,
    request_url: s.requestUrl,
    request_body: s.requestBody,
    http_status: s.httpStatus,
    content_type: s.contentType,
    sha256: s.sha256,
    byte_size: s.body.byteLength,
    truncated: s.truncated ? 1 : 0,
    redacted: s.redacted ? 1 : 0,
    parser_version: s.parserVersion,
    parser_options: JSON.stringify(s.parserOptions),
    run_id: s.runId,
    content_sha256: s.contentSha256,
    received_at: s.receivedAt,
  };
}

/**
 * Stores a snapshot's raw bytes together with what parsing made of them, in one transaction: whatever moment the
 * process dies at, a snapshot is either wholly stored (bytes, observations, outcome) or absent, never left
 * `pending`. The parse is computed before (it is pure), so a parser fault becomes a `rejected` outcome, not a loss.
 * A duplicate stores nothing; one found still `pending` (left by an older version) gets this parse recorded.
 * The body is compressed before the write lock is taken.
 */
export async function storeSnapshot(db: Db, s: RawSnapshotInput, parse: ParseRecord): Promise<StoredSnapshot> {
  return (await storeSnapshots(db, [{ snapshot: s, parse }]))[0]!;
}

/**
 * Stores several snapshots as `storeSnapshot` does each, in order, in one transaction (an import stores its lines
 * in groups: one commit instead of one per line). A crash stores all of them or none.
 */
export async function storeSnapshots(db: Db, items: readonly { snapshot: RawSnapshotInput; parse: ParseRecord }[]): Promise<StoredSnapshot[]> {
  const encoded = await Promise.all(
    items.map(({ snapshot: s, parse }) => Promise.all([s.encoded ?? encodeBody(s.body), s.encodedObservations ?? encodeObservations(parse.observations)])),
  );
  return db.transaction().execute(async (trx) => {
    const stored: StoredSnapshot[] = [];
    for (let i = 0; i < items.length; i++) {
      const [body, observations] = encoded[i]!;
      stored.push(await storeIn(trx, items[i]!.snapshot, items[i]!.parse, body, observations));
    }
    return stored;
  });
}

async function storeIn(trx: Db, s: RawSnapshotInput, parse: ParseRecord, body: EncodedBody, observations: EncodedObservationBlock): Promise<StoredSnapshot> {
  const existing = await trx
    .selectFrom('snapshots')
    .select(['id', 'parse_outcome', 'parse_error'])
    .where('venue', '=', s.venue)
    .where('fetched_at', '=', s.fetchedAt)
    .where((eb) => eb.or([eb('sha256', '=', s.sha256), eb('content_sha256', '=', s.contentSha256)]))
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  if (existing && existing.parse_outcome !== 'pending') {
    return { id: existing.id, duplicate: true, outcome: existing.parse_outcome, error: existing.parse_error };
  }
  if (existing) {
    await writeParse(trx, existing.id, parse, observations);
    return { id: existing.id, duplicate: false, outcome: parse.outcome, error: parse.error };
  }
  const { id } = await trx
    .insertInto('snapshots')
    .values({ id: await nextId(trx, 'snapshots'), ...snapshotRow(s), ...outcomeColumns(parse) })
    .returning('id')
    .executeTakeFirstOrThrow();
  await insertBody(trx, id, body);
  await writeRows(trx, id, parse, observations);
  return { id, duplicate: false, outcome: parse.outcome, error: parse.error };
}

/**
 * Stores raw bytes alone, `pending` (kept for tests of recovery from older versions, which stored the bytes first
 * and parsed in a second transaction). Returns the id of the identical snapshot when one is stored.
 */
export async function insertRawSnapshot(
  db: Db,
  s: Omit<RawSnapshotInput, 'contentSha256' | 'receivedAt'> & Partial<Pick<RawSnapshotInput, 'contentSha256' | 'receivedAt'>>,
): Promise<{ id: number; duplicate: boolean }> {
  const row = { ...snapshotRow({ contentSha256: s.sha256, receivedAt: s.fetchedAt, ...s }) };
  if (s.contentSha256 === undefined) Object.assign(row, { content_sha256: null, received_at: null });
  const body: EncodedBody = await encodeBody(s.body);
  const inserted = await db.transaction().execute(async (trx) => {
    const r = await trx
      .insertInto('snapshots')
      .values({ id: await nextId(trx, 'snapshots'), ...row })
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .executeTakeFirst();
    if (r) await insertBody(trx, r.id, body);
    return r;
  });
  if (inserted) return { id: inserted.id, duplicate: false };
  const existing = await db
    .selectFrom('snapshots')
    .select('id')
    .where('venue', '=', s.venue)
    .where('sha256', '=', s.sha256)
    .where('fetched_at', '=', s.fetchedAt)
    .executeTakeFirstOrThrow();
  return { id: existing.id, duplicate: true };
}

export interface RowIssue {
  rowIndex: number;
  listingId: string | null;
  code: string;
  detail: string;
}

export interface ParseRecord {
  outcome: Exclude<ParseOutcome, 'pending'>;
  error: string | null;
  rowsTotal: number;
  /** Payload rows that gave at least one observation (not the observations: a row can give several). */
  rowsAccepted: number;
  rowsIgnored: number;
  /** The ignored rows, counted per reason (not offered, reservation, Windows, ...). */
  ignoredReasons: Record<string, number>;
  observations: ParsedObservation[];
  issues: RowIssue[];
}

// Row issues per INSERT: 6 columns x 500 rows is 3,000 parameters, below SQLite's and PostgreSQL's caps.
const INSERT_CHUNK = 500;

function outcomeColumns(p: ParseRecord) {
  return {
    parse_outcome: p.outcome,
    parse_error: p.error,
    rows_total: p.rowsTotal,
    rows_accepted: p.rowsAccepted,
    rows_rejected: p.issues.length,
    rows_ignored: p.rowsIgnored,
    ignored_reasons: JSON.stringify(p.ignoredReasons),
  };
}

async function writeRows(trx: Db, snapshotId: number, p: ParseRecord, observations: EncodedObservationBlock): Promise<void> {
  // The snapshot's observations, numbered on from the newest stored, as one block (none for a parse that gave none).
  if (p.observations.length > 0) await insertObservationBlock(trx, snapshotId, await nextObservationId(trx), observations);
  const firstIssue = p.issues.length ? await nextId(trx, 'snapshot_issues') : 0;
  for (let i = 0; i < p.issues.length; i += INSERT_CHUNK) {
    const chunk = p.issues.slice(i, i + INSERT_CHUNK).map((x, k) => ({
      id: firstIssue + i + k,
      snapshot_id: snapshotId,
      row_index: x.rowIndex,
      listing_id: x.listingId,
      code: x.code,
      detail: x.detail,
    }));
    await trx.insertInto('snapshot_issues').values(chunk).execute();
  }
}

async function writeParse(trx: Db, snapshotId: number, p: ParseRecord, observations: EncodedObservationBlock): Promise<void> {
  // The outcome first: on a snapshot whose outcome is already recorded the append-only trigger refuses it, and the
  // transaction stores no second set of observations.
  await trx.updateTable('snapshots').set(outcomeColumns(p)).where('id', '=', snapshotId).execute();
  await writeRows(trx, snapshotId, p, observations);
}

/** Records the parse outcome of a `pending` snapshot with its observations and row issues, atomically (recovery). */
export async function recordParse(db: Db, snapshotId: number, p: ParseRecord): Promise<void> {
  const observations = await encodeObservations(p.observations);
  await db.transaction().execute((trx) => writeParse(trx, snapshotId, p, observations));
}

/** Snapshots still `pending`: stored by an older version (or a crash) whose parse was never recorded. Bodies are read one at a time with `snapshotBody`. */
export async function pendingSnapshots(
  db: Db,
): Promise<Pick<Snapshot, 'id' | 'venue' | 'fetched_at' | 'parser_version' | 'parser_options' | 'http_status' | 'content_type' | 'truncated'>[]> {
  return db
    .selectFrom('snapshots')
    .select(['id', 'venue', 'fetched_at', 'parser_version', 'parser_options', 'http_status', 'content_type', 'truncated'])
    .where('parse_outcome', '=', 'pending')
    .orderBy('id')
    .execute();
}

/** How many snapshots are `pending`, and the oldest of them. */
export async function pendingSummary(db: Db): Promise<{ count: number; oldest: number | null }> {
  const r = await db
    .selectFrom('snapshots')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('id').as('oldest')])
    .where('parse_outcome', '=', 'pending')
    .executeTakeFirstOrThrow();
  return { count: Number(r.n), oldest: r.oldest === null ? null : Number(r.oldest) };
}

/** Ids (above `afterId`) of snapshots stored before content identities were recorded, a batch at a time (for the backfill on start). */
export async function snapshotsWithoutContentKey(db: Db, afterId: number, limit: number): Promise<number[]> {
  const rows = await db.selectFrom('snapshots').select('id').where('content_sha256', 'is', null).where('id', '>', afterId).orderBy('id').limit(limit).execute();
  return rows.map((r) => r.id);
}

export async function setContentKey(db: Db, id: number, contentSha256: string): Promise<void> {
  await db.updateTable('snapshots').set({ content_sha256: contentSha256 }).where('id', '=', id).where('content_sha256', 'is', null).execute();
}

export async function getSnapshot(db: Db, id: number): Promise<Snapshot | undefined> {
  return db.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirst();
}
