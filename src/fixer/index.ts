// Publishes a date's fixings: reads the window's observations from storage, runs the pure methodology, stores revisions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import { canonicalRecord, computeFixings, dayStart, seriesCatalog, type FixingResult, type ObservationInput } from '../methodology/fixing.js';
import { loadMethodologies, loadMethodology, type Methodology } from '../methodology/params.js';
import {
  insertFixing,
  latestFixings,
  observationsInWindow,
  previousValues,
  snapshotTimesInWindow,
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

export function toInput(r: ObservationRow): ObservationInput {
  return {
    observationId: r.observation_id,
    snapshotId: r.snapshot_id,
    snapshotSha256: r.sha256,
    seq: r.seq,
    venue: r.venue,
    fetchedAt: r.fetched_at,
    listingId: r.listing_id,
    gpuRaw: r.gpu_raw,
    gpuCount: r.gpu_count,
    priceUsdPerHour: r.price_usd_per_hour,
    contract: r.contract,
    available: r.available === 1,
    perfSystem: r.perf_system,
    perfScorePerGpu: r.perf_score_per_gpu,
  };
}

/** Reads the inputs of a date from storage and computes its fixings, storing nothing. */
export async function computeDate(db: Db, date: string, methodology: Methodology, series?: readonly string[]): Promise<FixingResult[]> {
  const start = dayStart(date);
  const from = start - (methodology.parameters.extended_window_days - 1) * 86_400_000;
  const to = start + 86_400_000;
  const [rows, snaps, previous] = await Promise.all([observationsInWindow(db, from, to), snapshotTimesInWindow(db, from, to), previousValues(db, date)]);
  return computeFixings({
    methodology,
    date,
    observations: rows.map(toInput),
    snapshots: snaps.map((s) => ({ venue: s.venue, fetchedAt: s.fetched_at })),
    // A carried value names the date it was first published on.
    previous: new Map([...previous].map(([k, v]) => [k, { date: v.carriedFrom ?? v.date, value: v.value }])),
    ...(series ? { series } : {}),
  });
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
  const results = await computeDate(deps.db, opts.date, methodology, opts.series);
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
    );
    outcomes.push({ series: r.record.series, action: 'published', revision, status: r.record.status, value: r.record.value });
  }
  return outcomes;
}
