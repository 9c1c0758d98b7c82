// Methodology v1 as pure functions: observations in, fixings with their audit rows out. No database, clock or randomness.
// Step numbers refer to methodology/METHODOLOGY.md. Inputs and audit rows are columns (columns.ts); every loop
// and sum runs in canonical input order, which is index order there.
import { AuditColumns, INCLUDED, inputColumns, NONE, reasonCode, sameSnapshot, stringId, type ObservationColumns } from './columns.js';
import type { GpuClass, Methodology } from './params.js';
import { parameterHash } from './params.js';
import { quantileOf } from './quantile.js';
import { COMPUTE_SERIES, seriesCatalog, type SeriesSpec } from './series.js';
import {
  canonicalRecord,
  capVenueShares,
  classifier,
  classLookup,
  countExcluded,
  DAY_MS,
  dayStart,
  distinct,
  includedPositions,
  inputDigest,
  inputWindow,
  inReferenceUnits,
  isoDate,
  priceNormalizer,
  representedSeconds,
  roundPrice,
  rowClassLookup,
  rowsIn,
  survivorsOnly,
  weightedItems,
  type Survivors,
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

const DUPLICATE = reasonCode('duplicate');
const NOT_AVAILABLE = reasonCode('not_available');
const WRONG_CONTRACT = reasonCode('wrong_contract');
const INVALID_PRICE = reasonCode('invalid_price');
const PRICE_OUT_OF_BAND = reasonCode('price_out_of_band');
const OUTLIER = reasonCode('outlier');
const UNMAPPED_GPU = reasonCode('unmapped_gpu');

interface Window {
  from: number;
  to: number;
  /** The observations the window's rows index (the day's alone, or the whole extended window's). */
  inputs: ObservationColumns;
  /** The window's input rows of each class (null: unmapped), in canonical order. */
  byClass: Map<string | null, Uint32Array>;
  /** Per input row of the window: whether it repeats a listing of its own snapshot. */
  duplicate: Uint8Array;
  /** Per snapshot entry of the window: the seconds it represents. */
  seconds: Float64Array;
}

/** Steps 1 and 5, and duplicate detection, for one window. */
function prepareWindow(m: Methodology, from: number, to: number, c: ObservationColumns, snaps: readonly SnapshotTime[]): Window {
  const rows = rowsIn(c, from, to);
  // Step 5: each venue's distinct instants in W; snapshot i represents min(t(i+1), W end) - t(i), capped.
  const seconds = representedSeconds(m, from, to, snaps, c, rows);
  const duplicate = new Uint8Array(c.length);
  const classify = rowClassLookup(m, c);
  const byClass = new Map<string | null, number[]>();
  // A duplicate listing id is looked for among its own snapshot's listings only (a snapshot's rows are contiguous).
  let seen = new Set<number>();
  let first = -1;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    if (first < 0 || !sameSnapshot(c, first, r)) {
      first = r;
      seen = new Set();
    }
    if (seen.has(c.listingId[r]!)) duplicate[r] = 1;
    seen.add(c.listingId[r]!);
    const code = classify(r)?.[0]?.code ?? null;
    let list = byClass.get(code);
    if (!list) byClass.set(code, (list = []));
    list.push(r);
  }
  return { from, to, inputs: c, byClass: new Map([...byClass].map(([code, list]) => [code, Uint32Array.from(list)])), duplicate, seconds };
}

interface Evaluation extends Survivors {
  outlier: FixingEvidence['outlier'];
}

/** Steps 2 to 6 for one class and contract on one window. */
function evaluateClass(m: Methodology, classCodes: readonly string[], cls: GpuClass, contractName: SeriesSpec['contract'], win: Window): Evaluation {
  const { price_band: band, outlier_k: k } = m.parameters;
  const c = win.inputs;
  const contract = stringId(c, contractName);
  const rows = win.byClass.get(cls.code) ?? new Uint32Array(0);
  const a = new AuditColumns(c, classCodes, rows.length);
  const classIndex = classCodes.indexOf(cls.code);
  const normalize = priceNormalizer(m, cls, c);
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j]!;
    a.row[j] = r;
    a.cls[j] = classIndex;
    const price = c.price[r]!;
    const count = c.gpuCount[r]!;
    let reason = INCLUDED;
    if (win.duplicate[r] === 1) reason = DUPLICATE;
    else if (c.available[r] !== 1) reason = NOT_AVAILABLE;
    else if (c.contract[r] !== contract) reason = WRONG_CONTRACT;
    else if (!Number.isFinite(price) || price <= 0 || !Number.isInteger(count) || count < 1) reason = INVALID_PRICE;
    a.reason[j] = reason;
    if (reason === DUPLICATE || reason === INVALID_PRICE) continue;
    // Step 3 and 4: per-GPU price, throughput factor, normalized price. Step 5: GPU-hours offered.
    normalize(r, a, j);
    a.w[j] = (count * win.seconds[c.snapshot[r]!]!) / 3600;
    if (reason === INCLUDED && (a.p[j]! < band[0] || a.p[j]! > band[1])) a.reason[j] = PRICE_OUT_OF_BAND;
  }
  // Step 6: outlier filter on ln q around the weighted median, with a weighted MAD.
  const candidates = includedPositions(a);
  let outlier: FixingEvidence['outlier'] = null;
  if (candidates.length > 0) {
    const med = quantileOf(
      weightedItems(
        a,
        candidates,
        (j) => Math.log(a.q[j]!),
        (j) => a.w[j]!,
      ),
      0.5,
    );
    const mad = quantileOf(
      weightedItems(
        a,
        candidates,
        (j) => Math.abs(Math.log(a.q[j]!) - med),
        (j) => a.w[j]!,
      ),
      0.5,
    );
    const fence = k * 1.4826 * mad;
    outlier = { median_ln: med, mad, lower: Math.exp(med - fence), upper: Math.exp(med + fence) };
    if (mad > 0) for (const j of candidates) if (Math.abs(Math.log(a.q[j]!) - med) > fence) a.reason[j] = OUTLIER;
  }
  return { audit: a, positions: includedPositions(a), outlier };
}

/** Step 7. */
function sufficient(m: Methodology, s: Survivors): boolean {
  const { listings, venues } = distinct(s.audit, s.positions);
  return listings >= m.parameters.min_listings && venues >= m.parameters.min_venues;
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
function aggregate(m: Methodology, s: Survivors): Aggregate {
  const a = s.audit;
  const c = a.inputs;
  let total = 0;
  const byVenue = new Map<string, number>();
  for (const k of s.positions) {
    total += a.w[k]!;
    const venue = c.strings[c.venue[a.row[k]!]!]!;
    byVenue.set(venue, (byVenue.get(venue) ?? 0) + a.w[k]!);
  }
  const shares = new Map([...byVenue].map(([v, w]) => [v, w / total]));
  const { cap, capped } = capVenueShares(shares, m.parameters.venue_cap);
  const ratio = new Map([...shares.keys()].map((v) => [v, capped.get(v)! / shares.get(v)!]));
  for (const k of s.positions) {
    a.wCapped[k] = a.w[k]! * ratio.get(c.strings[c.venue[a.row[k]!]!]!)!;
    a.capped[k] = 1;
  }
  const items = weightedItems(
    a,
    s.positions,
    (k) => a.q[k]!,
    (k) => a.wCapped[k]!,
  );
  let sumW = 0;
  let sumWq = 0;
  for (const i of items.order) {
    sumW += items.weights[i]!;
    sumWq += items.weights[i]! * items.values[i]!;
  }
  const d = m.parameters.decimals;
  const percentiles: Record<string, number> = {};
  for (const phi of m.parameters.percentiles) percentiles[`p${Math.round(phi * 100)}`] = roundPrice(quantileOf(items, phi), d);
  return {
    value: quantileOf(items, 0.5),
    vwap: sumWq / sumW,
    percentiles,
    min: items.values[items.order[0]!]!,
    max: items.values[items.order[items.order.length - 1]!]!,
    volume: total,
    shares: [...shares.keys()].sort().map((v) => ({ venue: v, share: shares.get(v)!, capped_share: capped.get(v)! })),
    cap,
  };
}

interface Attempt extends Survivors {
  win: Window;
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
  const agg = published ? aggregate(m, attempt) : null;
  const value = agg ? roundPrice(agg.value, d) : status === 'carried_forward' ? previous!.value : null;
  const { listings, venues } = distinct(attempt.audit, attempt.positions);
  let volume = 0;
  for (const k of attempt.positions) volume += attempt.audit.w[k]!;
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
    observations_included: attempt.positions.length,
    volume: roundPrice(volume, d),
    excluded: countExcluded(attempt.audit),
    carried_from: status === 'carried_forward' ? previous!.date : null,
    window: { from: isoDate(attempt.win.from), to: isoDate(attempt.win.to) },
    methodology_version: m.version,
    parameter_hash: parameterHash(m),
    input_digest: inputDigest(attempt.audit),
  };
  return {
    record,
    evidence: { venue_shares: agg?.shares ?? [], venue_cap: agg?.cap ?? null, outlier: attempt.outlier },
    audit: attempt.audit,
  };
}

/** Step 7's fallbacks, shared by class series and GPUIDX-COMPUTE. */
function decide(m: Methodology, spec: SeriesSpec, date: string, day: Attempt, extended: () => Attempt, previous: PreviousValue | undefined): FixingResult {
  if (sufficient(m, day)) return buildResult(m, spec, date, 'normal', day, previous);
  const ext = extended();
  if (sufficient(m, ext)) return buildResult(m, spec, date, 'extended_window', ext, previous);
  // The day's own inputs stay the evidence when nothing is published from them.
  for (const k of day.positions) day.audit.capped[k] = 0;
  return buildResult(m, spec, date, previous ? 'carried_forward' : 'insufficient', day, previous);
}

/** Step 9: pool the on-demand step-6 survivors of every class, in reference-class-equivalent units. */
function computeAttempt(m: Methodology, classCodes: readonly string[], win: Window, perClass: Map<string, Evaluation>): Attempt {
  const unmapped = win.byClass.get(null) ?? new Uint32Array(0);
  const audit = inReferenceUnits(m, win.inputs, classCodes, (code) => perClass.get(code), {
    rows: unmapped,
    reasons: new Uint8Array(unmapped.length).fill(UNMAPPED_GPU),
  });
  return { win, audit, positions: includedPositions(audit), outlier: null };
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
  const c = inputColumns(req.observations);
  const { from: extFrom, to: dayEnd } = inputWindow(req.date, m);
  const start = dayEnd - DAY_MS;
  const classCodes = m.classes.map((x) => x.code);
  // The extended window's observations: the day's, or (when given apart) made on first need.
  let extInputs: ObservationColumns | null = req.extended ? null : c;
  const extColumns = () => (extInputs ??= inputColumns(req.extended!.observations()));
  const dayWin = prepareWindow(m, start, dayEnd, c, req.snapshots);
  let extWin: Window | null = null;
  const ext = () => (extWin ??= prepareWindow(m, extFrom, dayEnd, extColumns(), req.snapshots));
  // A class with no input anywhere in the extended window has an empty evaluation there: it is made without preparing
  // the window, which reads every input of every day in it. (Only a class with inputs, or the composite, needs it.)
  let extClasses: Set<string | null> | null = null;
  const inExtendedWindow = (code: string) => {
    if (!extClasses) {
      extClasses = new Set();
      if (req.extended) {
        const lookup = classLookup(m);
        for (const n of req.extended.names) extClasses.add(lookup(n.venue, n.gpuRaw)?.[0]?.code ?? null);
      } else {
        const classOf = rowClassLookup(m, c);
        for (const r of rowsIn(c, extFrom, dayEnd)) extClasses.add(classOf(r)?.[0]?.code ?? null);
      }
    }
    return extClasses.has(code);
  };
  const emptyExtended = (): Attempt => ({
    win: { from: extFrom, to: dayEnd, inputs: c, byClass: new Map(), duplicate: new Uint8Array(0), seconds: new Float64Array(0) },
    audit: new AuditColumns(c, classCodes, 0),
    positions: new Uint32Array(0),
    outlier: null,
  });

  const wanted = req.series ? new Set(req.series) : null;
  const catalog = seriesCatalog(m).filter((s) => !wanted || wanted.has(s.code));
  const classByCode = new Map(m.classes.map((x) => [x.code, x]));
  const onDemandDay = new Map<string, Evaluation>();
  const onDemandExt = new Map<string, Evaluation>();
  // On-demand evaluations are kept per window for GPUIDX-COMPUTE; spot ones are used once.
  const evaluator = (cache: Map<string, Evaluation>, win: () => Window) => (x: GpuClass, contract: SeriesSpec['contract']) => {
    if (contract !== 'on_demand') return evaluateClass(m, classCodes, x, contract, win());
    let e = cache.get(x.code);
    if (!e) cache.set(x.code, (e = evaluateClass(m, classCodes, x, contract, win())));
    return e;
  };
  const evalDay = evaluator(onDemandDay, () => dayWin);
  const evalExt = evaluator(onDemandExt, ext);
  // A class evaluation belongs to its one class series; GPUIDX-COMPUTE reads the on-demand ones afterwards and
  // builds its own audit (inReferenceUnits copies), so no audit is ever shared between two series.
  const attempt = (e: Evaluation, win: Window): Attempt => ({ win, audit: e.audit, positions: e.positions, outlier: e.outlier });

  for (const spec of catalog) {
    const previous = req.previous.get(spec.code);
    if (spec.classCode !== null) {
      const cls = classByCode.get(spec.classCode)!;
      const day = attempt(evalDay(cls, spec.contract), dayWin);
      yield decide(m, spec, req.date, day, () => (inExtendedWindow(cls.code) ? attempt(evalExt(cls, spec.contract), ext()) : emptyExtended()), previous);
      // GPUIDX-COMPUTE needs only the survivors of the on-demand evaluations: let the other rows go.
      if (spec.contract === 'on_demand') {
        for (const cache of [onDemandDay, onDemandExt]) {
          const e = cache.get(cls.code);
          if (e) cache.set(cls.code, survivorsOnly(e));
        }
      }
    } else {
      for (const x of m.classes) evalDay(x, 'on_demand');
      const day = computeAttempt(m, classCodes, dayWin, onDemandDay);
      const extended = () => {
        for (const x of m.classes) evalExt(x, 'on_demand');
        return computeAttempt(m, classCodes, ext(), onDemandExt);
      };
      yield decide(m, spec, req.date, day, extended, previous);
    }
  }
}

export { COMPUTE_SERIES, NONE, seriesCatalog };
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
