// Repository for the methodology's inputs (observations of parsed snapshots in a window) and its published fixings.
import { observationBlockRows, type StoredObservationBlock } from './observation-blocks.js';
import { insertAuditBlocks, type EncodedAuditBlock } from './audit-blocks.js';
import type { Db } from './db.js';
import type { Fixing } from './schema.js';

/** A parsed snapshot whose observations a fixing reads: the fields every one of its observations shares. */
export interface WindowSnapshot {
  id: number;
  sha256: string;
  venue: string;
  fetched_at: number;
  source: string;
  /** Its observations: how many, the id of the first (null: it holds none), and their raw GPU names (JSON, see GpuName). */
  row_count: number;
  first_observation_id: number | null;
  gpu_names: string | null;
}

/**
 * Every parsed (ok or partial) snapshot fetched in [from, to) up to a watermark, in the methodology's canonical
 * order (venue, instant, sha256, then id), with the size of its observation block.
 */
export async function windowSnapshots(db: Db, from: number, to: number, throughSnapshot: number): Promise<WindowSnapshot[]> {
  const rows = await db
    .selectFrom('snapshots as s')
    .leftJoin('observation_blocks as b', 'b.snapshot_id', 's.id')
    .select(['s.id', 's.sha256', 's.venue', 's.fetched_at', 's.source', 'b.row_count', 'b.first_observation_id', 'b.gpu_names'])
    .where('s.fetched_at', '>=', from)
    .where('s.fetched_at', '<', to)
    .where('s.id', '<=', throughSnapshot)
    .where('s.parse_outcome', 'in', ['ok', 'partial'])
    .execute();
  // Strings compared by code unit, as the methodology orders them (not by any collation).
  const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return rows
    .map((r) => ({ ...r, row_count: r.row_count ?? 0 }))
    .sort((a, b) => text(a.venue, b.venue) || a.fetched_at - b.fetched_at || text(a.sha256, b.sha256) || a.id - b.id);
}

/** The stored (compressed) observation blocks of the given snapshots, by snapshot id. */
export async function windowBlockData(db: Db, snapshots: readonly WindowSnapshot[]): Promise<Map<number, StoredObservationBlock>> {
  const out = new Map<number, StoredObservationBlock>();
  for await (const b of observationBlockRows(
    db,
    snapshots.filter((s) => s.row_count > 0).map((s) => s.id),
  ))
    out.set(b.snapshot_id, b);
  return out;
}

/** Venue, instant and parser version of every parsed snapshot in [from, to), including those that held no listing. */
export async function snapshotTimesInWindow(
  db: Db,
  from: number,
  to: number,
  throughSnapshot: number,
): Promise<{ venue: string; fetched_at: number; parser_version: string }[]> {
  return db
    .selectFrom('snapshots')
    .select(['venue', 'fetched_at', 'parser_version'])
    .distinct()
    .where('fetched_at', '>=', from)
    .where('fetched_at', '<', to)
    .where('id', '<=', throughSnapshot)
    .where('parse_outcome', 'in', ['ok', 'partial'])
    .execute();
}

/**
 * The newest snapshot id whose parse is recorded with every older one's: a fixing reads snapshots up to it, and a
 * replay of that fixing reads exactly the same ones however many arrive later.
 */
export async function snapshotWatermark(db: Db): Promise<number> {
  const r = await db
    .selectFrom('snapshots')
    .select((eb) => [eb.fn.max('id').as('newest'), eb.fn.min(eb.case().when('parse_outcome', '=', 'pending').then(eb.ref('id')).end()).as('first_pending')])
    .executeTakeFirst();
  if (!r || r.newest === null) return 0;
  return r.first_pending !== null ? Number(r.first_pending) - 1 : Number(r.newest);
}

/** The latest revision of each series on a date. */
export async function latestFixings(db: Db, date: string): Promise<Fixing[]> {
  return latestRevisions(await db.selectFrom('fixings').selectAll().where('date', '=', date).orderBy('series').orderBy('revision', 'desc').execute());
}

/** The latest earlier published value of each series: the latest revision of the latest date before `date` that has a value. */
export async function previousValues(
  db: Db,
  date: string,
  publishedBeforeId?: number,
  series?: string,
): Promise<Map<string, { date: string; value: number; carriedFrom: string | null }>> {
  let q = db.selectFrom('fixings').select(['series', 'date', 'revision', 'value', 'carried_from']).where('date', '<', date);
  // A replay of a revision sees only what had been published before it.
  if (publishedBeforeId !== undefined) q = q.where('id', '<', publishedBeforeId);
  if (series !== undefined) q = q.where('series', '=', series);
  const rows = await q.orderBy('series').orderBy('date', 'desc').orderBy('revision', 'desc').execute();
  const out = new Map<string, { date: string; value: number; carriedFrom: string | null }>();
  for (const r of latestRevisions(rows)) {
    if (!out.has(r.series) && r.value !== null) out.set(r.series, { date: r.date, value: r.value, carriedFrom: r.carried_from });
  }
  return out;
}

/** Of rows ordered by series and date with the highest revision first within a date, the latest revision of each date. */
function latestRevisions<T extends { series: string; date: string }>(rows: readonly T[]): T[] {
  return rows.filter((r, i) => i === 0 || rows[i - 1]!.series !== r.series || rows[i - 1]!.date !== r.date);
}

/** A revision as the fixer hands it to storage: the chain link and signature come from `seal`; the audit hash, with its audit. */
export type NewFixing = Omit<Fixing, 'id' | 'previous_chain_hash' | 'key_id' | 'signature' | 'audit_sha256'> & { audit_sha256?: string | null };
/** What publication adds to a revision once the previous one is known: the chain link and the signature. */
export type FixingSeal = Pick<Fixing, 'previous_chain_hash' | 'key_id' | 'signature'>;

/**
 * Stores one fixing revision and its audit blocks. Call it inside the publication run's transaction (`trx`), so
 * that a run's revisions are stored all together or not at all. `seal` gets the revision published last (read in
 * the same transaction, so two publishers never fork the chain) and returns the chain link and the signature.
 */
export async function insertFixing(
  trx: Db,
  fixing: NewFixing,
  audit: readonly EncodedAuditBlock[],
  seal: (last: Fixing | undefined) => FixingSeal,
): Promise<Fixing> {
  const last = await trx.selectFrom('fixings').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirst();
  const row = { ...fixing, audit_sha256: fixing.audit_sha256 ?? null, ...seal(last) };
  // The next id after the newest revision (see ids.ts): the chain's order has no gaps on either database.
  const { id } = await trx
    .insertInto('fixings')
    .values({ id: (last?.id ?? 0) + 1, ...row })
    .returning('id')
    .executeTakeFirstOrThrow();
  await insertAuditBlocks(trx, id, audit);
  return { ...row, id };
}

/**
 * The trailing history methodology v2 compares a fixing with: per series, the latest revision of each of the
 * `days` dates before `date` whose status is volume-weighted (normal or extended_window), oldest first.
 * `publishedBeforeId`: only what had been published before that revision.
 */
export async function trailingHistory(db: Db, date: string, days: number, publishedBeforeId?: number, series?: string): Promise<Map<string, Fixing[]>> {
  const from = new Date(Date.parse(`${date}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
  let q = db.selectFrom('fixings').selectAll().where('date', '>=', from).where('date', '<', date);
  if (publishedBeforeId !== undefined) q = q.where('id', '<', publishedBeforeId);
  if (series !== undefined) q = q.where('series', '=', series);
  const rows = await q.orderBy('series').orderBy('date').orderBy('revision', 'desc').execute();
  const out = new Map<string, Fixing[]>();
  for (const r of latestRevisions(rows)) {
    if (r.status !== 'normal' && r.status !== 'extended_window') continue;
    let list = out.get(r.series);
    if (!list) out.set(r.series, (list = []));
    list.push(r);
  }
  return out;
}
