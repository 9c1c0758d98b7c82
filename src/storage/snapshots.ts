// Repository for raw snapshots and what parsing made of them: observations and per-row issues.
import { insertChunked } from './bulk-insert.js';
import type { Db } from './db.js';
import type { NewObservation, ParseOutcome, Snapshot } from './schema.js';

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
  sha256: string;
  truncated: boolean;
  redacted: boolean;
  parserVersion: string;
  parserOptions: Record<string, unknown>;
  runId: number | null;
}

export interface StoredSnapshot {
  id: number;
  /** True when an identical snapshot (venue, sha256, fetched_at) was already stored; nothing new was written. */
  duplicate: boolean;
}

/** Stores the raw bytes before anything parses them. */
export async function insertRawSnapshot(db: Db, s: RawSnapshotInput): Promise<StoredSnapshot> {
  const inserted = await db
    .insertInto('snapshots')
    .values({
      venue: s.venue,
      fetched_at: s.fetchedAt,
      source: s.source,
      request_method: s.requestMethod,
      request_url: s.requestUrl,
      request_body: s.requestBody,
      http_status: s.httpStatus,
      content_type: s.contentType,
      body: s.body,
      sha256: s.sha256,
      byte_size: s.body.byteLength,
      truncated: s.truncated ? 1 : 0,
      redacted: s.redacted ? 1 : 0,
      parser_version: s.parserVersion,
      parser_options: JSON.stringify(s.parserOptions),
      run_id: s.runId,
    })
    .onConflict((oc) => oc.columns(['venue', 'sha256', 'fetched_at']).doNothing())
    .returning('id')
    .executeTakeFirst();
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
  rowsIgnored: number;
  observations: ObservationRow[];
  issues: RowIssue[];
}

// Rows per multi-row INSERT: 13 columns x 500 rows stays far below SQLite's bound-parameter limit.
const INSERT_CHUNK = 500;

/** Column order of a bulk observation insert; parameters are laid out row by row in this order. */
const OBSERVATION_COLUMNS = [
  'snapshot_id',
  'seq',
  'listing_id',
  'host_id',
  'gpu_raw',
  'gpu_count',
  'price_usd_per_hour',
  'contract',
  'available',
  'perf_system',
  'perf_score_per_gpu',
  'region',
  'quantity_reported',
] as const satisfies readonly (keyof NewObservation)[];

type ObservationRow = Omit<NewObservation, 'snapshot_id'>;

/** Records the parse outcome of a pending snapshot with its observations and row issues, atomically. */
export async function recordParse(db: Db, snapshotId: number, p: ParseRecord): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await insertChunked(trx, db, 'observations', OBSERVATION_COLUMNS, p.observations, INSERT_CHUNK, (params, o: ObservationRow) => {
      params.push(snapshotId, o.seq, o.listing_id, o.host_id ?? null, o.gpu_raw, o.gpu_count, o.price_usd_per_hour, o.contract, o.available,
        o.perf_system ?? null, o.perf_score_per_gpu ?? null, o.region ?? null, o.quantity_reported);
    });
    for (let i = 0; i < p.issues.length; i += INSERT_CHUNK) {
      const chunk = p.issues.slice(i, i + INSERT_CHUNK).map((x) => ({
        snapshot_id: snapshotId,
        row_index: x.rowIndex,
        listing_id: x.listingId,
        code: x.code,
        detail: x.detail,
      }));
      await trx.insertInto('snapshot_issues').values(chunk).execute();
    }
    await trx
      .updateTable('snapshots')
      .set({
        parse_outcome: p.outcome,
        parse_error: p.error,
        rows_total: p.rowsTotal,
        rows_accepted: p.observations.length,
        rows_rejected: p.issues.length,
        rows_ignored: p.rowsIgnored,
      })
      .where('id', '=', snapshotId)
      .execute();
  });
}

export async function getSnapshot(db: Db, id: number): Promise<Snapshot | undefined> {
  return db.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirst();
}
