// Methodology v1 as pure functions: observations in, fixings with their audit rows out. No database, clock or randomness.
// Step numbers refer to methodology/METHODOLOGY.md.
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import type { GpuClass, Methodology } from './params.js';
import { parameterHash } from './params.js';
import { compareWeighted, weightedQuantileSorted, type Weighted } from './quantile.js';
import { COMPUTE_SERIES, seriesCatalog, type SeriesSpec } from './series.js';

export interface ObservationInput {
  /** Storage ids, carried into the audit rows; they never enter the input digest. */
  observationId: number;
  snapshotId: number;
  /** sha256 of the raw snapshot body: identifies the input across databases. */
  snapshotSha256: string;
  seq: number;
  venue: string;
  fetchedAt: number;
  listingId: string;
  gpuRaw: string;
  gpuCount: number;
  priceUsdPerHour: number;
  contract: 'on_demand' | 'interruptible' | 'reserved';
  available: boolean;
  perfSystem: string | null;
  perfScorePerGpu: number | null;
}

/** A parsed snapshot's venue and instant; its distinct instants set the time weights (step 5). */
export interface SnapshotTime {
  venue: string;
  fetchedAt: number;
}

export type ExclusionReason =
  | 'unmapped_gpu'
  | 'duplicate'
  | 'not_available'
  | 'wrong_contract'
  | 'invalid_price'
  | 'price_out_of_band'
  | 'outlier'
  | 'no_tflops';

export type FixingStatus = 'normal' | 'extended_window' | 'carried_forward' | 'insufficient';

export interface AuditRow {
  input: ObservationInput;
  classCode: string | null;
  p: number | null;
  f: number | null;
  q: number | null;
  w: number | null;
  wCapped: number | null;
  reason: ExclusionReason | null;
}

export interface VenueShare {
  venue: string;
  share: number;
  capped_share: number;
}

export interface FixingRecord {
  series: string;
  date: string;
  status: FixingStatus;
  unit: string;
  value: number | null;
  vwap: number | null;
  percentiles: Record<string, number> | null;
  min: number | null;
  max: number | null;
  listings: number;
  venues: number;
  observations_included: number;
  volume: number;
  excluded: Record<string, number>;
  carried_from: string | null;
  window: { from: string; to: string };
  methodology_version: string;
  parameter_hash: string;
  input_digest: string;
}

export interface FixingEvidence {
  venue_shares: VenueShare[];
  venue_cap: number | null;
  outlier: { median_ln: number; mad: number; lower: number; upper: number } | null;
}

export interface FixingResult {
  record: FixingRecord;
  evidence: FixingEvidence;
  audit: AuditRow[];
}

export interface PreviousValue {
  date: string;
  value: number;
}

export interface FixingRequest {
  methodology: Methodology;
  /** UTC date, YYYY-MM-DD. */
  date: string;
  /** Observations and parsed-snapshot instants covering at least the extended window [D-(k-1), D+1). */
  observations: readonly ObservationInput[];
  snapshots: readonly SnapshotTime[];
  /** Latest earlier published value per series, for carrying forward. */
  previous: ReadonlyMap<string, PreviousValue>;
  /** Only these series (default: every series). */
  series?: readonly string[];
}

const DAY_MS = 86_400_000;

export function dayStart(date: string): number {
  const t = Date.parse(`${date}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(t)) throw new RangeError(`not a date: ${date}`);
  return t;
}

/** The window a date's fixings read: the extended window [D - (k - 1), D + 1); the day itself ends it. */
export function inputWindow(date: string, m: Methodology): { from: number; to: number } {
  const start = dayStart(date);
  return { from: start - (m.parameters.extended_window_days - 1) * DAY_MS, to: start + DAY_MS };
}

export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Half up on the exact decimal value of the float, as Number.prototype.toFixed does (step 10). */
export function roundPrice(x: number, decimals: number): number {
  return Number(x.toFixed(decimals));
}

/** Step 1: raw GPU name → class, by the venue's aliases, then "*" aliases, then the canonical code. Case and spacing are ignored. */
export function classifier(m: Methodology): (venue: string, raw: string) => string | null {
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  const byVenue = new Map<string, Map<string, string>>();
  const add = (venue: string, name: string, code: string) => {
    let map = byVenue.get(venue);
    if (!map) byVenue.set(venue, (map = new Map()));
    if (!map.has(norm(name))) map.set(norm(name), code);
  };
  for (const c of m.classes) for (const [venue, names] of Object.entries(c.aliases)) for (const n of names) add(venue, n, c.code);
  for (const c of m.classes) add('*', c.code, c.code);
  const cache = new Map<string, string | null>();
  return (venue, raw) => {
    const key = `${venue}\u0000${raw}`;
    let hit = cache.get(key);
    if (hit === undefined) {
      const n = norm(raw);
      hit = byVenue.get(venue)?.get(n) ?? byVenue.get('*')?.get(n) ?? null;
      cache.set(key, hit);
    }
    return hit;
  };
}

/** Canonical input order: venue, fetched_at, snapshot, position. Every loop and sum below runs in this order. */
function compareInputs(a: ObservationInput, b: ObservationInput): number {
  if (a.venue !== b.venue) return a.venue < b.venue ? -1 : 1;
  if (a.fetchedAt !== b.fetchedAt) return a.fetchedAt - b.fetchedAt;
  if (a.snapshotSha256 !== b.snapshotSha256) return a.snapshotSha256 < b.snapshotSha256 ? -1 : 1;
  return a.seq - b.seq;
}

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
function prepareWindow(m: Methodology, from: number, to: number, obs: readonly ObservationInput[], snaps: readonly SnapshotTime[], classify: (v: string, r: string) => string | null): Window {
  const inWindow = obs.filter((o) => o.fetchedAt >= from && o.fetchedAt < to).sort(compareInputs);
  // Step 5: each venue's distinct instants in W; snapshot i represents min(t(i+1), W end) - t(i), capped.
  const instants = new Map<string, number[]>();
  const addInstant = (venue: string, t: number) => {
    if (t < from || t >= to) return;
    let list = instants.get(venue);
    if (!list) instants.set(venue, (list = []));
    list.push(t);
  };
  for (const s of snaps) addInstant(s.venue, s.fetchedAt);
  for (const o of inWindow) addInstant(o.venue, o.fetchedAt);
  const seconds = new Map<string, number>();
  const cap = m.parameters.max_gap_seconds;
  for (const [venue, list] of instants) {
    const ts = [...new Set(list)].sort((a, b) => a - b);
    ts.forEach((t, i) => {
      const next = i + 1 < ts.length ? Math.min(ts[i + 1]!, to) : to;
      seconds.set(`${venue}\u0000${t}`, Math.min((next - t) / 1000, cap));
    });
  }
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
  const { price_band: band, perf_clamp: clamp, outlier_k: k } = m.parameters;
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
    const p = o.priceUsdPerHour / o.gpuCount;
    const ref = o.perfSystem !== null ? cls.reference_scores[o.perfSystem] : undefined;
    const f = ref !== undefined && o.perfScorePerGpu !== null && o.perfScorePerGpu > 0 ? Math.min(Math.max(ref / o.perfScorePerGpu, clamp[0]), clamp[1]) : 1;
    row.p = p;
    row.f = f;
    row.q = p * f;
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

/** Step 8: the venue cap, iterated until no venue is above it. Venues in name order. */
export function capVenueShares(shares: ReadonlyMap<string, number>, venueCap: number): { cap: number; capped: Map<string, number> } {
  const venues = [...shares.keys()].sort();
  const cap = venueCap * venues.length < 1 ? 1 / venues.length : venueCap;
  const fixed = new Set<string>();
  let capped = new Map(venues.map((v) => [v, shares.get(v)!]));
  for (;;) {
    const over = venues.filter((v) => !fixed.has(v) && capped.get(v)! > cap);
    if (over.length === 0) return { cap, capped };
    for (const v of over) fixed.add(v);
    let free = 0;
    for (const v of venues) if (!fixed.has(v)) free += shares.get(v)!;
    const remaining = 1 - fixed.size * cap;
    capped = new Map(venues.map((v) => [v, fixed.has(v) ? cap : free > 0 ? (shares.get(v)! * remaining) / free : 0]));
  }
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

function countExcluded(rows: readonly AuditRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) if (r.reason) out[r.reason] = (out[r.reason] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

const numOrNull = (x: number | null) => (x === null || !Number.isFinite(x) ? null : x);
const numText = (x: number | null) => (x === null || !Number.isFinite(x) ? 'null' : String(x));

/**
 * sha256 over the canonical, sorted list of every input with its outcome and weights. Each entry is a flat array of
 * strings, finite numbers, booleans and nulls, whose canonical JSON is exactly JSON.stringify's, so the list is
 * hashed entry by entry instead of being built as one string (a day can hold millions of entries).
 */
export function inputDigest(rows: readonly AuditRow[], prefixes: Map<ObservationInput, string> = new Map()): string {
  let inOrder = true;
  for (let i = 1; i < rows.length && inOrder; i++) inOrder = compareInputs(rows[i - 1]!.input, rows[i]!.input) <= 0;
  const sorted = inOrder ? rows : [...rows].sort((a, b) => compareInputs(a.input, b.input));
  const hash = createHash('sha256');
  const BATCH = 4096;
  hash.update('[');
  for (let i = 0; i < sorted.length; i += BATCH) {
    const parts: string[] = [];
    for (let j = i; j < Math.min(i + BATCH, sorted.length); j++) {
      const r = sorted[j]!;
      // Exactly JSON.stringify of [class, outcome, p, f, q, w, w'] without building the array: String(n) is
      // JSON's number form for every finite n, and numText gives null for the rest.
      parts.push(
        `${inputPrefix(r.input, prefixes)},${r.classCode === null ? 'null' : JSON.stringify(r.classCode)},${JSON.stringify(r.reason ?? 'included')},${numText(r.p)},${numText(r.f)},${numText(r.q)},${numText(r.w)},${numText(r.wCapped)}]`,
      );
    }
    hash.update(i === 0 ? parts.join(',') : `,${parts.join(',')}`);
  }
  hash.update(']');
  return hash.digest('hex');
}

/**
 * The observation's part of a digest entry, without its closing bracket. A class's on-demand and spot series
 * list the same inputs, so the caller keeps one class's prefixes while it computes that class's series.
 */
function inputPrefix(o: ObservationInput, prefixes: Map<ObservationInput, string>): string {
  let prefix = prefixes.get(o);
  if (prefix === undefined) {
    const json = JSON.stringify([o.venue, o.fetchedAt, o.snapshotSha256, o.seq, o.listingId, o.gpuRaw, numOrNull(o.gpuCount), numOrNull(o.priceUsdPerHour), o.contract, o.available,
      o.perfSystem, numOrNull(o.perfScorePerGpu)]);
    prefix = json.slice(0, -1);
    prefixes.set(o, prefix);
  }
  return prefix;
}

interface Attempt {
  win: Window;
  rows: AuditRow[];
  survivors: AuditRow[];
  outlier: FixingEvidence['outlier'];
}

function buildResult(m: Methodology, spec: SeriesSpec, date: string, status: FixingStatus, attempt: Attempt, previous: PreviousValue | undefined, prefixes: Map<ObservationInput, string>): FixingResult {
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
    input_digest: inputDigest(attempt.rows, prefixes),
  };
  return {
    record,
    evidence: { venue_shares: agg?.shares ?? [], venue_cap: agg?.cap ?? null, outlier: attempt.outlier },
    audit: attempt.rows,
  };
}

/** Step 7's fallbacks, shared by class series and GPUIDX-COMPUTE. */
function decide(m: Methodology, spec: SeriesSpec, date: string, day: Attempt, extended: () => Attempt, previous: PreviousValue | undefined, prefixes: Map<ObservationInput, string>): FixingResult {
  if (sufficient(m, day.survivors)) return buildResult(m, spec, date, 'normal', day, previous, prefixes);
  const ext = extended();
  if (sufficient(m, ext.survivors)) return buildResult(m, spec, date, 'extended_window', ext, previous, prefixes);
  // The day's own inputs stay the evidence when nothing is published from them.
  for (const r of day.survivors) r.wCapped = null;
  return buildResult(m, spec, date, previous ? 'carried_forward' : 'insufficient', day, previous, prefixes);
}

/** Step 9: pool the on-demand step-6 survivors of every class, in reference-class-equivalent units. */
function computeAttempt(m: Methodology, win: Window, perClass: Map<string, Evaluation>): Attempt {
  const refTflops = m.classes.find((c) => c.code === m.parameters.reference_class)!.tflops_bf16_dense!;
  const rows: AuditRow[] = [];
  for (const c of m.classes) {
    for (const s of perClass.get(c.code)?.survivors ?? []) {
      const t = c.tflops_bf16_dense;
      if (t === null) rows.push({ ...s, wCapped: null, reason: 'no_tflops' });
      else rows.push({ ...s, q: s.q! * (refTflops / t), w: (s.w! * t) / refTflops, wCapped: null, reason: null });
    }
  }
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

  let prefixes = new Map<ObservationInput, string>();
  let prefixClass: string | null = null;
  for (const spec of catalog) {
    const previous = req.previous.get(spec.code);
    if (spec.classCode !== null) {
      const cls = classByCode.get(spec.classCode)!;
      const day = attempt(evalDay(cls, spec.contract), dayWin);
      if (prefixClass !== cls.code) {
        prefixes = new Map();
        prefixClass = cls.code;
      }
      yield decide(m, spec, req.date, day, () => attempt(evalExt(cls, spec.contract), ext()), previous, prefixes);
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
      yield decide(m, spec, req.date, day, extended, previous, new Map());
    }
  }
}

/** The canonical bytes of a fixing record: what digests and signatures cover. */
export function canonicalRecord(record: FixingRecord): string {
  return canonicalJson(record);
}

export { COMPUTE_SERIES, seriesCatalog };
