// Methodology v1 as pure functions: observations in, fixings with their audit rows out. No database, clock or randomness.
// Step numbers refer to methodology/METHODOLOGY.md.
import type { GpuClass, Methodology } from '../../../src/methodology/params.js';
import { parameterHash } from '../../../src/methodology/params.js';
import {
  canonicalRecord,
  capVenueShares,
  classifier,
  compareInputs,
  countExcluded,
  DAY_MS,
  dayStart,
  inputDigest,
  inputWindow,
  inReferenceUnits,
  isoDate,
  normalizedPrice,
  representedSeconds,
  roundPrice,
} from './shared.js';
import type {
  AuditRow,
  ExclusionReason,
  FixingEvidence,
  FixingRecord,
  FixingRequest,
  FixingResult,
  FixingStatus,
  ObservationInput,
  PreviousValue,
  SnapshotTime,
  VenueShare,
} from './types.js';
import { compareWeighted, weightedQuantileSorted, type Weighted } from './quantile.js';
import { COMPUTE_SERIES, seriesCatalog, type SeriesSpec } from '../../../src/methodology/series.js';

interface Prepared {
  input: ObservationInput;
  classCode: string | null;
  duplicate: boolean;
  /** Seconds this observation's snapshot represents (step 5). */
  seconds: number;
}

interface Window {
  from: number;
  to: number;
  /** The prepared inputs of each class (null: unmapped), in canonical order. */
  byClass: Map<string | null, Prepared[]>;
}

/** Steps 1 and 5, and duplicate detection, for one window. */
function prepareWindow(
  m: Methodology,
  from: number,
  to: number,
  obs: readonly ObservationInput[],
  snaps: readonly SnapshotTime[],
  classify: (v: string, r: string) => string | null,
): Window {
  const inWindow = obs.filter((o) => o.fetchedAt >= from && o.fetchedAt < to).sort(compareInputs);
  // Step 5: each venue's distinct instants in W; snapshot i represents min(t(i+1), W end) - t(i), capped.
  const seconds = representedSeconds(m, from, to, snaps, inWindow);
  // Inputs are sorted by snapshot, so a duplicate listing id is looked for among its own snapshot's listings only.
  let seen = new Set<string>();
  let current: ObservationInput | null = null;
  let currentSeconds = 0;
  const byClass = new Map<string | null, Prepared[]>();
  for (const input of inWindow) {
    if (current === null || current.venue !== input.venue || current.fetchedAt !== input.fetchedAt || current.snapshotSha256 !== input.snapshotSha256) {
      currentSeconds = seconds.get(`${input.venue}\u0000${input.fetchedAt}`)!;
      current = input;
      seen = new Set();
    }
    const duplicate = seen.has(input.listingId);
    seen.add(input.listingId);
    const classCode = classify(input.venue, input.gpuRaw);
    let list = byClass.get(classCode);
    if (!list) byClass.set(classCode, (list = []));
    list.push({ input, classCode, duplicate, seconds: currentSeconds });
  }
  return { from, to, byClass };
}

interface Evaluation {
  rows: AuditRow[];
  survivors: AuditRow[];
  outlier: FixingEvidence['outlier'];
}

const weighted = (r: AuditRow, value: number, weight: number): Weighted => ({
  value,
  weight,
  venue: r.input.venue,
  listingId: r.input.listingId,
  fetchedAt: r.input.fetchedAt,
});

/** Steps 2 to 6 for one class and contract on one window. */
function evaluateClass(m: Methodology, cls: GpuClass, contract: SeriesSpec['contract'], win: Window): Evaluation {
  const { price_band: band, outlier_k: k } = m.parameters;
  const rows: AuditRow[] = [];
  for (const pr of win.byClass.get(cls.code) ?? []) {
    const o = pr.input;
    const row: AuditRow = { input: o, classCode: cls.code, p: null, f: null, q: null, w: null, wCapped: null, reason: null };
    rows.push(row);
    if (pr.duplicate) row.reason = 'duplicate';
    else if (!o.available) row.reason = 'not_available';
    else if (o.contract !== contract) row.reason = 'wrong_contract';
    else if (!Number.isFinite(o.priceUsdPerHour) || o.priceUsdPerHour <= 0 || !Number.isInteger(o.gpuCount) || o.gpuCount < 1) row.reason = 'invalid_price';
    if (row.reason === 'duplicate' || row.reason === 'invalid_price') continue;
    // Step 3 and 4: per-GPU price, throughput factor, normalized price. Step 5: GPU-hours offered.
    const { p, f, q } = normalizedPrice(m, cls, o);
    row.p = p;
    row.f = f;
    row.q = q;
    row.w = (o.gpuCount * pr.seconds) / 3600;
    if (row.reason === null && (p < band[0] || p > band[1])) row.reason = 'price_out_of_band';
  }
  // Step 6: outlier filter on ln q around the weighted median, with a weighted MAD.
  const candidates = rows.filter((r) => r.reason === null);
  let outlier: FixingEvidence['outlier'] = null;
  if (candidates.length > 0) {
    const xs = candidates.map((r) => weighted(r, Math.log(r.q!), r.w!)).sort(compareWeighted);
    const med = weightedQuantileSorted(xs, 0.5);
    const devs = candidates.map((r) => weighted(r, Math.abs(Math.log(r.q!) - med), r.w!)).sort(compareWeighted);
    const mad = weightedQuantileSorted(devs, 0.5);
    const fence = k * 1.4826 * mad;
    outlier = { median_ln: med, mad, lower: Math.exp(med - fence), upper: Math.exp(med + fence) };
    if (mad > 0) for (const r of candidates) if (Math.abs(Math.log(r.q!) - med) > fence) r.reason = 'outlier';
  }
  return { rows, survivors: rows.filter((r) => r.reason === null), outlier };
}

/** Step 7. */
function sufficient(m: Methodology, survivors: readonly AuditRow[]): boolean {
  const listings = new Set(survivors.map((r) => `${r.input.venue}\u0000${r.input.listingId}`));
  const venues = new Set(survivors.map((r) => r.input.venue));
  return listings.size >= m.parameters.min_listings && venues.size >= m.parameters.min_venues;
}

interface Aggregate {
  value: number;
  vwap: number;
  percentiles: Record<string, number>;
  min: number;
  max: number;
  volume: number;
  shares: VenueShare[];
  cap: number;
}

/** Step 8 on survivors carrying (q, w); fills each survivor's w'. */
function aggregate(m: Methodology, survivors: AuditRow[]): Aggregate {
  let total = 0;
  const byVenue = new Map<string, number>();
  for (const r of survivors) {
    total += r.w!;
    byVenue.set(r.input.venue, (byVenue.get(r.input.venue) ?? 0) + r.w!);
  }
  const shares = new Map([...byVenue].map(([v, w]) => [v, w / total]));
  const { cap, capped } = capVenueShares(shares, m.parameters.venue_cap);
  for (const r of survivors) r.wCapped = r.w! * (capped.get(r.input.venue)! / shares.get(r.input.venue)!);
  const items = survivors.map((r) => weighted(r, r.q!, r.wCapped!)).sort(compareWeighted);
  let sumW = 0;
  let sumWq = 0;
  for (const it of items) {
    sumW += it.weight;
    sumWq += it.weight * it.value;
  }
  const d = m.parameters.decimals;
  const percentiles: Record<string, number> = {};
  for (const phi of m.parameters.percentiles) percentiles[`p${Math.round(phi * 100)}`] = roundPrice(weightedQuantileSorted(items, phi), d);
  return {
    value: weightedQuantileSorted(items, 0.5),
    vwap: sumWq / sumW,
    percentiles,
    min: items[0]!.value,
    max: items[items.length - 1]!.value,
    volume: total,
    shares: [...shares.keys()].sort().map((v) => ({ venue: v, share: shares.get(v)!, capped_share: capped.get(v)! })),
    cap,
  };
}

interface Attempt {
  win: Window;
  rows: AuditRow[];
  survivors: AuditRow[];
  outlier: FixingEvidence['outlier'];
}

function buildResult(
  m: Methodology,
  spec: SeriesSpec,
  date: string,
  status: FixingStatus,
  attempt: Attempt,
  previous: PreviousValue | undefined,
): FixingResult {
  const d = m.parameters.decimals;
  const published = status === 'normal' || status === 'extended_window';
  const agg = published ? aggregate(m, attempt.survivors) : null;
  const value = agg ? roundPrice(agg.value, d) : status === 'carried_forward' ? previous!.value : null;
  const listings = new Set(attempt.survivors.map((r) => `${r.input.venue}\u0000${r.input.listingId}`)).size;
  const venues = new Set(attempt.survivors.map((r) => r.input.venue)).size;
  let volume = 0;
  for (const r of attempt.survivors) volume += r.w!;
  const record: FixingRecord = {
    series: spec.code,
    date,
    status,
    unit: spec.unit,
    value,
    vwap: agg ? roundPrice(agg.vwap, d) : null,
    percentiles: agg ? agg.percentiles : null,
    min: agg ? roundPrice(agg.min, d) : null,
    max: agg ? roundPrice(agg.max, d) : null,
    listings,
    venues,
    observations_included: attempt.survivors.length,
    volume: roundPrice(volume, d),
    excluded: countExcluded(attempt.rows),
    carried_from: status === 'carried_forward' ? previous!.date : null,
    window: { from: isoDate(attempt.win.from), to: isoDate(attempt.win.to) },
    methodology_version: m.version,
    parameter_hash: parameterHash(m),
    input_digest: inputDigest(attempt.rows),
  };
  return {
    record,
    evidence: { venue_shares: agg?.shares ?? [], venue_cap: agg?.cap ?? null, outlier: attempt.outlier },
    audit: attempt.rows,
  };
}

/** Step 7's fallbacks, shared by class series and GPUIDX-COMPUTE. */
function decide(m: Methodology, spec: SeriesSpec, date: string, day: Attempt, extended: () => Attempt, previous: PreviousValue | undefined): FixingResult {
  if (sufficient(m, day.survivors)) return buildResult(m, spec, date, 'normal', day, previous);
  const ext = extended();
  if (sufficient(m, ext.survivors)) return buildResult(m, spec, date, 'extended_window', ext, previous);
  // The day's own inputs stay the evidence when nothing is published from them.
  for (const r of day.survivors) r.wCapped = null;
  return buildResult(m, spec, date, previous ? 'carried_forward' : 'insufficient', day, previous);
}

/** Step 9: pool the on-demand step-6 survivors of every class, in reference-class-equivalent units. */
function computeAttempt(m: Methodology, win: Window, perClass: Map<string, Evaluation>): Attempt {
  const rows = inReferenceUnits(m, (code) => perClass.get(code)?.survivors ?? []);
  for (const pr of win.byClass.get(null) ?? []) {
    rows.push({ input: pr.input, classCode: null, p: null, f: null, q: null, w: null, wCapped: null, reason: 'unmapped_gpu' });
  }
  rows.sort((a, b) => compareInputs(a.input, b.input));
  return { win, rows, survivors: rows.filter((r) => r.reason === null), outlier: null };
}

/** Computes the fixings of one date. Pure: the same request always gives the same results, whatever its input order. */
export function computeFixings(req: FixingRequest): FixingResult[] {
  return [...fixingsOf(req)];
}

/**
 * The same results one series at a time, in catalog order, so that a caller storing them can let each series'
 * audit rows go before the next is computed (a day of a million observations holds millions of audit rows).
 */
export function* fixingsOf(req: FixingRequest): Generator<FixingResult> {
  const m = req.methodology;
  const { from: extFrom, to: dayEnd } = inputWindow(req.date, m);
  const start = dayEnd - DAY_MS;
  const classify = classifier(m);
  const dayWin = prepareWindow(m, start, dayEnd, req.observations, req.snapshots, classify);
  let extWin: Window | null = null;
  const ext = () => (extWin ??= prepareWindow(m, extFrom, dayEnd, req.observations, req.snapshots, classify));

  const wanted = req.series ? new Set(req.series) : null;
  const catalog = seriesCatalog(m).filter((s) => !wanted || wanted.has(s.code));
  const classByCode = new Map(m.classes.map((c) => [c.code, c]));
  const onDemandDay = new Map<string, Evaluation>();
  const onDemandExt = new Map<string, Evaluation>();
  // On-demand evaluations are kept per window for GPUIDX-COMPUTE; spot ones are used once.
  const evaluator = (cache: Map<string, Evaluation>, win: () => Window) => (c: GpuClass, contract: SeriesSpec['contract']) => {
    if (contract !== 'on_demand') return evaluateClass(m, c, contract, win());
    let e = cache.get(c.code);
    if (!e) cache.set(c.code, (e = evaluateClass(m, c, contract, win())));
    return e;
  };
  const evalDay = evaluator(onDemandDay, () => dayWin);
  const evalExt = evaluator(onDemandExt, ext);
  // A class evaluation belongs to its one class series; GPUIDX-COMPUTE reads the on-demand ones afterwards and
  // builds its own rows (computeAttempt copies), so no audit row is ever shared between two series.
  const attempt = (e: Evaluation, win: Window): Attempt => ({ win, rows: e.rows, survivors: e.survivors, outlier: e.outlier });

  for (const spec of catalog) {
    const previous = req.previous.get(spec.code);
    if (spec.classCode !== null) {
      const cls = classByCode.get(spec.classCode)!;
      const day = attempt(evalDay(cls, spec.contract), dayWin);
      yield decide(m, spec, req.date, day, () => attempt(evalExt(cls, spec.contract), ext()), previous);
      // GPUIDX-COMPUTE needs only the survivors of the on-demand evaluations: let the other rows go.
      if (spec.contract === 'on_demand') {
        for (const cache of [onDemandDay, onDemandExt]) {
          const e = cache.get(cls.code);
          if (e) cache.set(cls.code, { ...e, rows: [] });
        }
      }
    } else {
      for (const c of m.classes) evalDay(c, 'on_demand');
      const day = computeAttempt(m, dayWin, onDemandDay);
      const extended = () => {
        for (const c of m.classes) evalExt(c, 'on_demand');
        return computeAttempt(m, ext(), onDemandExt);
      };
      yield decide(m, spec, req.date, day, extended, previous);
    }
  }
}

export { COMPUTE_SERIES, seriesCatalog };
// Earlier importers reach the shared pieces through this module.
export { canonicalRecord, capVenueShares, classifier, dayStart, inputDigest, inputWindow, isoDate, roundPrice };
export type {
  AuditRow,
  ExclusionReason,
  FixingEvidence,
  FixingRecord,
  FixingRequest,
  FixingResult,
  FixingStatus,
  ObservationInput,
  PreviousValue,
  SnapshotTime,
  VenueShare,
};
