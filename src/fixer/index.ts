// Publishes a date's fixings: reads the window's observations from storage, runs the pure methodology, stores revisions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import { canonicalRecord, inputWindow, seriesCatalog, type FixingResult, type ObservationInput } from '../methodology/fixing.js';
import { loadMethodologies, loadMethodology, type Methodology } from '../methodology/params.js';
import { chainHash, GENESIS_CHAIN_HASH, publishedFixing } from './published.js';
import { engineFor } from '../methodology/engines.js';
import {
  insertFixing,
  latestFixings,
  observationsInWindow,
  previousValues,
  snapshotTimesInWindow,
  snapshotWatermark,
  type Db,
  type ObservationRow,
} from '../storage/index.js';

export const SOFTWARE_VERSION: string = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

export interface FixDeps {
  db: Db;
  clock: () => number;
  log: Logger;
}

export interface FixOptions {
  date: string;
  series?: readonly string[];
  /** Publish a new revision when the inputs differ from the latest published revision. */
  restate?: { reason: string };
  methodologyVersion?: string;
}

export type FixOutcome =
  | { series: string; action: 'published'; revision: number; status: string; value: number | null }
  | { series: string; action: 'unchanged'; revision: number }
  | { series: string; action: 'needs_restatement'; revision: number; detail: string };

export class UnknownSeriesError extends Error {
  constructor(readonly series: string[]) {
    super(`unknown series: ${series.join(', ')}`);
    this.name = 'UnknownSeriesError';
  }
}

/** The methodology in force on a date: the latest version effective on or before it (else the earliest). */
export function methodologyFor(date: string): Methodology {
  const all = loadMethodologies();
  const effective = all.filter((m) => m.effective_from <= date);
  return effective[effective.length - 1] ?? all[0]!;
}

/**
 * Row → methodology input. `intern` shares one string for the values that repeat across rows (venue, snapshot hash,
 * GPU name, contract, benchmark system): a million observations otherwise hold a million copies of each.
 */
export function toInput(r: ObservationRow, intern: <T extends string | null>(s: T) => T = (s) => s): ObservationInput {
  return {
    observationId: r.observation_id,
    snapshotId: r.snapshot_id,
    snapshotSha256: intern(r.sha256),
    seq: r.seq,
    venue: intern(r.venue),
    fetchedAt: r.fetched_at,
    listingId: r.listing_id,
    gpuRaw: intern(r.gpu_raw),
    gpuCount: r.gpu_count,
    priceUsdPerHour: r.price_usd_per_hour,
    contract: intern(r.contract),
    available: r.available === 1,
    perfSystem: intern(r.perf_system),
    perfScorePerGpu: r.perf_score_per_gpu,
  };
}

/** A pool that hands out one shared string per distinct value. */
export function interner(): <T extends string | null>(s: T) => T {
  const pool = new Map<string, string>();
  return <T extends string | null>(s: T): T => {
    if (s === null) return s;
    const hit = pool.get(s);
    if (hit !== undefined) return hit as T;
    pool.set(s, s);
    return s;
  };
}

/** Every observation of a window, from snapshots up to `throughSnapshot`, as methodology inputs. */
export async function readInputs(db: Db, from: number, to: number, throughSnapshot: number): Promise<ObservationInput[]> {
  const intern = interner();
  const inputs: ObservationInput[] = [];
  for await (const rows of observationsInWindow(db, from, to, throughSnapshot)) for (const row of rows) inputs.push(toInput(row, intern));
  return inputs;
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
  const observations = await readInputs(db, from, to, throughSnapshot);
  const [snaps, previous] = await Promise.all([snapshotTimesInWindow(db, from, to, throughSnapshot), previousValues(db, date)]);
  const results = engineFor(methodology)({
    methodology,
    date,
    observations,
    snapshots: snaps.map((s) => ({ venue: s.venue, fetchedAt: s.fetched_at })),
    // A carried value names the date it was first published on.
    previous: new Map([...previous].map(([k, v]) => [k, { date: v.carriedFrom ?? v.date, value: v.value }])),
    ...(series ? { series } : {}),
  });
  return { results, parserVersions: [...new Set(snaps.map((s) => s.parser_version))].sort(), throughSnapshot };
}

export async function fixDate(deps: FixDeps, opts: FixOptions): Promise<FixOutcome[]> {
  const latest = new Map((await latestFixings(deps.db, opts.date)).map((f) => [f.series, f]));
  const versionOnRecord = [...latest.values()][0]?.methodology_version;
  const methodology = opts.methodologyVersion
    ? loadMethodology(opts.methodologyVersion)
    : versionOnRecord
      ? loadMethodology(versionOnRecord)
      : methodologyFor(opts.date);
  if (opts.series) {
    const known = new Set(seriesCatalog(methodology).map((s) => s.code));
    const unknown = opts.series.filter((s) => !known.has(s));
    if (unknown.length) throw new UnknownSeriesError(unknown);
  }
  const { results, parserVersions, throughSnapshot } = await computeDate(deps.db, opts.date, methodology, opts.series);
  const outcomes: FixOutcome[] = [];
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
    await insertFixing(
      deps.db,
      {
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
        computed_at: deps.clock(),
        restatement_reason: prior ? opts.restate!.reason : null,
        previous_input_digest: prior?.input_digest ?? null,
        record,
        evidence: JSON.stringify(r.evidence),
        parser_versions: JSON.stringify(parserVersions),
        inputs_through_snapshot: throughSnapshot,
      },
      r.audit.map((a) => ({
        observation_id: a.input.observationId,
        snapshot_id: a.input.snapshotId,
        class: a.classCode,
        reason: a.reason,
        p: a.p,
        f: a.f,
        q: a.q,
        w: a.w,
        w_capped: a.wCapped,
      })),
      (last) => (last ? chainHash(publishedFixing(last)) : GENESIS_CHAIN_HASH),
    );
    outcomes.push({ series: r.record.series, action: 'published', revision, status: r.record.status, value: r.record.value });
  }
  return outcomes;
}
