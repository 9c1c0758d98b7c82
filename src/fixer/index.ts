// Publishes a date's fixings: reads the window's observations from storage, runs the pure methodology, stores revisions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import { ObservationColumnsBuilder, type AuditColumns, type ObservationColumns, type SnapshotFields } from '../methodology/columns.js';
import { canonicalRecord, inputWindow, seriesCatalog, type FixingResult } from '../methodology/fixing.js';
import { EXCLUSION_REASONS, type FixingRecord, type FixingRequest, type HistoryPoint } from '../methodology/types.js';
import { loadMethodologies, loadMethodology, methodologyInForce, type Methodology } from '../methodology/params.js';
import { chainHash, GENESIS_CHAIN_HASH, historyPoint, publishedFixing, signedPayload } from './published.js';
import { publishChainHead } from './chain-head.js';
import type { Signer } from '../signing/index.js';
import { ensureActiveKey } from '../signing/registry.js';
import { engineFor } from '../methodology/engines.js';
import {
  insertFixing,
  latestFixings,
  ObservationBlockError,
  observationFlags,
  readObservationBlock,
  windowBlockData,
  windowSnapshots,
  type GpuName,
  type StoredObservationBlock,
  type WindowSnapshot,
  previousValues,
  snapshotTimesInWindow,
  snapshotWatermark,
  trailingHistory,
  type Db,
  type Fixing,
  auditRowColumns,
  encodeAudit,
  PRESENT,
  type AuditRowColumns,
  type NewFixing,
} from '../storage/index.js';

export const SOFTWARE_VERSION: string = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string })
  .version;

export interface FixDeps {
  db: Db;
  clock: () => number;
  log: Logger;
  /** Signs each revision when it is published; the signature is stored with it and served as stored. */
  signer: Signer;
  /** How long after a UTC day ends its fixings may first be published (late collection runs land first); default 15 min. */
  publicationDelayMs?: number;
}

export interface FixOptions {
  date: string;
  series?: readonly string[];
  /** Publish a new revision when the inputs differ from the latest published revision. */
  restate?: { reason: string };
  /** An explicit methodology version: needed to fix a date before the effective date of every version. */
  methodologyVersion?: string;
  /** Compute and report what would be published, storing nothing. */
  dryRun?: boolean;
}

export type FixOutcome =
  | { series: string; action: 'published' | 'would_publish'; revision: number; status: string; value: number | null }
  | { series: string; action: 'unchanged'; revision: number }
  | { series: string; action: 'needs_restatement'; revision: number; detail: string };

export class UnknownSeriesError extends Error {
  constructor(readonly series: string[]) {
    super(`unknown series: ${series.join(', ')}`);
    this.name = 'UnknownSeriesError';
  }
}

/** A date the publication controls do not allow to be fixed now, with the reason. */
export class PublicationRefusedError extends Error {
  constructor(
    readonly date: string,
    readonly reason: 'not_ended' | 'before_effective_date' | 'before_cutoff',
    message: string,
  ) {
    super(message);
    this.name = 'PublicationRefusedError';
  }
}

export const DEFAULT_PUBLICATION_DELAY_MS = 15 * 60_000;

/** The methodology in force on a date: the latest version effective on or before it, or undefined before every one. */
export function methodologyFor(date: string): Methodology | undefined {
  return methodologyInForce(loadMethodologies(), date);
}

/** Refuses a date whose day (plus the publication delay) has not ended at `now`. */
export function checkDateEnded(date: string, now: number, delayMs: number): void {
  const publishableAt = Date.parse(`${date}T00:00:00Z`) + 86_400_000 + delayMs;
  if (now < publishableAt) {
    throw new PublicationRefusedError(
      date,
      'not_ended',
      `${date} cannot be fixed before ${new Date(publishableAt).toISOString()} (the day's end plus the ${Math.round(delayMs / 60_000)}-minute publication delay)`,
    );
  }
}

const FLAG_BITS = {
  available: observationFlags.AVAILABLE,
  quantityReported: observationFlags.QUANTITY_REPORTED,
  hasPerfScore: observationFlags.HAS_PERF_SCORE,
  hasMemory: observationFlags.HAS_MEMORY,
};

/** A snapshot's stored observation block, decoded. */
function readBlock(s: WindowSnapshot, stored: ReadonlyMap<number, StoredObservationBlock>) {
  const data = stored.get(s.id);
  const read = data ? readObservationBlock(data) : { ok: false as const, reason: 'is missing' };
  if (!read.ok) throw new ObservationBlockError(s.id, read.reason);
  return read.block;
}

/** A window snapshot's fields as the columns hold them (once per snapshot). */
const fieldsOf = (s: WindowSnapshot): SnapshotFields => ({
  snapshotId: s.id,
  sha256: s.sha256,
  venue: s.venue,
  fetchedAt: s.fetched_at,
  source: s.source === 'file' ? 'file' : 'http',
});

/**
 * The columns of some snapshots' observations (in canonical order, as `windowSnapshots` gives them), from their
 * stored blocks; `copied` gives rows already decoded into other columns (the day's, for the extended window).
 */
function columnsOf(
  snapshots: readonly WindowSnapshot[],
  stored: ReadonlyMap<number, StoredObservationBlock>,
  copied?: { from: ObservationColumns; rows: ReadonlyMap<number, { from: number; to: number }> },
): ObservationColumns {
  // The snapshots are in canonical order, so the columns come out in it, with nothing to sort; sized once from the
  // blocks' row counts (growing typed arrays by doubling would hold twice a large window at its peak).
  const inputs = new ObservationColumnsBuilder(snapshots.reduce((n, s) => n + s.row_count, 0));
  for (const s of snapshots) {
    if (s.row_count === 0) continue;
    inputs.snapshot(fieldsOf(s));
    const range = copied?.rows.get(s.id);
    if (copied && range) inputs.addRows(copied.from, range.from, range.to);
    else inputs.addChunk({ ...readBlock(s, stored), firstObservationId: s.first_observation_id!, bits: FLAG_BITS });
  }
  return inputs.build();
}

/** Every observation of a window, from snapshots up to `throughSnapshot`, as the methodology's input columns. */
export async function readInputs(db: Db, from: number, to: number, throughSnapshot: number): Promise<ObservationColumns> {
  const snapshots = await windowSnapshots(db, from, to, throughSnapshot);
  return columnsOf(snapshots, await windowBlockData(db, snapshots));
}

/**
 * A date's inputs as the engine takes them: the day's observations as columns, and the whole extended window's
 * given apart, made from the blocks (kept compressed meanwhile) only if a series needs the days before, with
 * the raw GPU names the window holds (from the blocks' summaries) to tell which classes it has.
 */
async function readDateInputs(
  db: Db,
  window: { from: number; to: number },
  throughSnapshot: number,
): Promise<Pick<FixingRequest, 'observations' | 'extended'>> {
  const snapshots = await windowSnapshots(db, window.from, window.to, throughSnapshot);
  const stored = await windowBlockData(db, snapshots);
  const dayStart = window.to - 86_400_000;
  const names = new Map<string, { venue: string; gpuRaw: string; gpuMemoryGb: number | null }>();
  for (const s of snapshots) {
    for (const [gpuRaw, gpuMemoryGb] of JSON.parse(s.gpu_names ?? '[]') as GpuName[])
      names.set(JSON.stringify([s.venue, gpuRaw, gpuMemoryGb]), { venue: s.venue, gpuRaw, gpuMemoryGb });
  }
  const daySnapshots = snapshots.filter((s) => s.fetched_at >= dayStart);
  const day = columnsOf(daySnapshots, stored);
  // The day's blocks are not kept: should the whole window be needed, the day's rows are copied from its columns.
  for (const s of daySnapshots) stored.delete(s.id);
  const dayRows = new Map<number, { from: number; to: number }>();
  for (let r = 0; r < day.length; r++) {
    const id = day.snapshots.id[day.snapshot[r]!]!;
    const range = dayRows.get(id);
    if (range) range.to = r + 1;
    else dayRows.set(id, { from: r, to: r + 1 });
  }
  const extended = (): ObservationColumns => columnsOf(snapshots, stored, { from: day, rows: dayRows });
  return { observations: day, extended: { observations: extended, names: [...names.values()] } };
}

export interface DateComputation {
  results: Generator<FixingResult>;
  parserVersions: string[];
  throughSnapshot: number;
}

/** Reads the inputs of a date from storage; the returned generator computes its fixings one series at a time, storing nothing. */
export async function computeDate(db: Db, date: string, methodology: Methodology, series?: readonly string[]): Promise<DateComputation> {
  const { from, to } = inputWindow(date, methodology);
  const throughSnapshot = await snapshotWatermark(db);
  const inputs = await readDateInputs(db, { from, to }, throughSnapshot);
  const days = methodology.parameters.coverage_days;
  const [snaps, previous, history] = await Promise.all([
    snapshotTimesInWindow(db, from, to, throughSnapshot),
    previousValues(db, date),
    days ? trailingHistory(db, date, days) : new Map(),
  ]);
  const results = engineFor(methodology)({
    methodology,
    date,
    ...inputs,
    snapshots: snaps.map((s) => ({ venue: s.venue, fetchedAt: s.fetched_at })),
    // A carried value names the date it was first published on.
    previous: new Map([...previous].map(([k, v]) => [k, { date: v.carriedFrom ?? v.date, value: v.value }])),
    history: historyPoints(history),
    ...(series ? { series } : {}),
  });
  return { results, parserVersions: [...new Set(snaps.map((s) => s.parser_version))].sort(), throughSnapshot };
}

/** Every outcome as the stored audit names it, at its audit column code (0: included). */
const OUTCOMES = ['included', ...EXCLUSION_REASONS];

/**
 * The positions of an audit in observation-id order. Inputs are in canonical order, in which a snapshot's
 * observations (numbered in order when stored) ascend: runs that ascend are put in order by their first id, and
 * only runs that overlap make a full sort.
 */
function observationOrder(a: AuditColumns): Uint32Array {
  const ids = a.inputs.observationId;
  const idAt = (k: number) => ids[a.row[k]!]!;
  const runs: { start: number; end: number }[] = [];
  for (let k = 0; k < a.length; k++) {
    if (k === 0 || !(idAt(k - 1) < idAt(k))) runs.push({ start: k, end: k + 1 });
    else runs[runs.length - 1]!.end = k + 1;
  }
  runs.sort((x, y) => idAt(x.start) - idAt(y.start));
  const order = new Uint32Array(a.length);
  let at = 0;
  for (const r of runs) for (let k = r.start; k < r.end; k++) order[at++] = k;
  for (let j = 1; j < a.length; j++) if (!(idAt(order[j - 1]!) < idAt(order[j]!))) return order.sort((x, y) => idAt(x) - idAt(y));
  return order;
}

/**
 * A fixing's audit as storage keeps it, block by block: rows [from, to) in observation-id order, with their
 * observation, snapshot and position (each block made when asked for, so a large audit is never copied whole).
 */
export function storedAudit(a: AuditColumns): (from: number, to: number) => AuditRowColumns {
  const c = a.inputs;
  const order = observationOrder(a);
  const weights = PRESENT.p | PRESENT.f | PRESENT.q | PRESENT.w;
  return (from, to) => {
    const out = auditRowColumns(to - from, a.classes, OUTCOMES);
    for (let j = 0; j < to - from; j++) {
      const k = order[from + j]!;
      const r = a.row[k]!;
      out.observationId[j] = c.observationId[r]!;
      out.snapshotId[j] = c.snapshots.id[c.snapshot[r]!]!;
      out.seq[j] = c.seq[r]!;
      out.cls[j] = a.cls[k]!;
      out.outcome[j] = a.reason[k]!;
      out.present[j] = (a.priced[k] === 1 ? weights : 0) | (a.capped[k] === 1 ? PRESENT.wCapped : 0);
      out.p[j] = a.p[k]!;
      out.f[j] = a.f[k]!;
      out.q[j] = a.q[k]!;
      out.w[j] = a.w[k]!;
      out.wCapped[j] = a.wCapped[k]!;
    }
    return out;
  };
}

/** Chooses the methodology of a fix: the one on record for the date, an explicit one, or the one in force. */
function chooseMethodology(date: string, explicit: string | undefined, onRecord: string | undefined): Methodology {
  if (explicit) return loadMethodology(explicit);
  if (onRecord) return loadMethodology(onRecord);
  const m = methodologyFor(date);
  if (!m) {
    const first = loadMethodologies()[0]!;
    throw new PublicationRefusedError(
      date,
      'before_effective_date',
      `${date} is before the effective date of every methodology (the first, ${first.version}, is effective from ${first.effective_from}); fixing history before it needs an explicit --methodology VERSION (see METHODOLOGY.md)`,
    );
  }
  return m;
}

/** Storage's trailing history as the engine reads it. */
export function historyPoints(history: Awaited<ReturnType<typeof trailingHistory>>): Map<string, HistoryPoint[]> {
  return new Map([...history].map(([series, rows]) => [series, rows.map((r) => historyPoint(JSON.parse(r.record) as FixingRecord, r.evidence))]));
}

/**
 * Computes and publishes a date's fixings. The whole run (reading the inputs at one watermark, deciding, storing
 * every revision with its signature, and the chain head) is one write transaction: a date is published all at once
 * or not at all, and a second publisher for the same date waits and then finds the revisions already there.
 */
export async function fixDate(deps: FixDeps, opts: FixOptions): Promise<FixOutcome[]> {
  const now = deps.clock();
  checkDateEnded(opts.date, now, deps.publicationDelayMs ?? DEFAULT_PUBLICATION_DELAY_MS);
  if (opts.dryRun) return fixIn(deps.db, deps, opts, now, false);
  return deps.db.transaction().execute((trx) => fixIn(trx, deps, opts, now, true));
}

async function fixIn(db: Db, deps: FixDeps, opts: FixOptions, now: number, store: boolean): Promise<FixOutcome[]> {
  const latest = new Map((await latestFixings(db, opts.date)).map((f) => [f.series, f]));
  const methodology = chooseMethodology(opts.date, opts.methodologyVersion, [...latest.values()][0]?.methodology_version);
  if (opts.series) {
    const known = new Set(seriesCatalog(methodology).map((s) => s.code));
    const unknown = opts.series.filter((s) => !known.has(s));
    if (unknown.length) throw new UnknownSeriesError(unknown);
  }
  if (store) await ensureActiveKey(db, deps.signer, now);
  const { results, parserVersions, throughSnapshot } = await computeDate(db, opts.date, methodology, opts.series);
  const outcomes: FixOutcome[] = [];
  let newest: Fixing | undefined;
  for (const r of results) {
    const record = canonicalRecord(r.record);
    const prior = latest.get(r.record.series);
    if (prior && prior.record === record) {
      outcomes.push({ series: r.record.series, action: 'unchanged', revision: prior.revision });
      continue;
    }
    if (prior && !opts.restate) {
      outcomes.push({
        series: r.record.series,
        action: 'needs_restatement',
        revision: prior.revision,
        detail: `inputs differ from revision ${prior.revision} (input digest ${prior.input_digest.slice(0, 12)} -> ${r.record.input_digest.slice(0, 12)}); publish a correction with --restate --reason "..."`,
      });
      continue;
    }
    const revision = (prior?.revision ?? 0) + 1;
    if (!store) {
      outcomes.push({ series: r.record.series, action: 'would_publish', revision, status: r.record.status, value: r.record.value });
      continue;
    }
    const audit = encodeAudit(r.audit.length, storedAudit(r.audit));
    const fixing: NewFixing & { audit_sha256: string } = {
      series: r.record.series,
      date: r.record.date,
      revision,
      status: r.record.status,
      value: r.record.value,
      carried_from: r.record.carried_from,
      methodology_version: r.record.methodology_version,
      parameter_hash: r.record.parameter_hash,
      input_digest: r.record.input_digest,
      software_version: SOFTWARE_VERSION,
      computed_at: now,
      restatement_reason: prior ? opts.restate!.reason : null,
      previous_input_digest: prior?.input_digest ?? null,
      record,
      evidence: JSON.stringify(r.evidence),
      parser_versions: JSON.stringify(parserVersions),
      inputs_through_snapshot: throughSnapshot,
      audit_sha256: audit.sha256,
    };
    newest = await insertFixing(db, fixing, audit.blocks, (last) => {
      const sealed = { ...fixing, previous_chain_hash: last ? chainHash(publishedFixing(last)) : GENESIS_CHAIN_HASH, key_id: deps.signer.keyId };
      return { previous_chain_hash: sealed.previous_chain_hash, key_id: sealed.key_id, signature: deps.signer.sign(signedPayload(publishedFixing(sealed))) };
    });
    outcomes.push({ series: r.record.series, action: 'published', revision, status: r.record.status, value: r.record.value });
  }
  if (newest) await publishChainHead(db, deps.signer, newest, now);
  return outcomes;
}
