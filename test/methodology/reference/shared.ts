// Pieces every methodology engine uses alike: the date window, rounding, GPU classification, canonical input order,
// share capping, exclusion counts and the input digest. Changing one changes every engine: the lock
// (methodology/METHODOLOGY.lock) covers this file for each version.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../../src/methodology/canonical.js';
import type { GpuClass, Methodology } from '../../../src/methodology/params.js';
import type { AuditRow, FixingRecord, ObservationInput, SnapshotTime } from './types.js';

export const DAY_MS = 86_400_000;

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

/**
 * Step 1's name lookup: a raw GPU name → the classes that list it, in class order, found by the venue's aliases,
 * then the "*" aliases, then the class codes (the first of these that knows the name decides). Case and spacing
 * are ignored. Version 1 takes the first class (`classifier`); version 2 chooses among them by memory.
 */
export function classLookup(m: Methodology): (venue: string, raw: string) => readonly GpuClass[] | null {
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  const byVenue = new Map<string, Map<string, GpuClass[]>>();
  const add = (venue: string, name: string, c: GpuClass) => {
    let map = byVenue.get(venue);
    if (!map) byVenue.set(venue, (map = new Map()));
    const list = map.get(norm(name)) ?? [];
    if (!list.includes(c)) list.push(c);
    map.set(norm(name), list);
  };
  for (const c of m.classes) for (const [venue, names] of Object.entries(c.aliases)) for (const n of names) add(venue, n, c);
  for (const c of m.classes) add('*', c.code, c);
  // Per venue, per raw name: a million inputs hold a few hundred distinct pairs, looked up without building keys.
  const cache = new Map<string, Map<string, GpuClass[] | null>>();
  return (venue, raw) => {
    let names = cache.get(venue);
    if (!names) cache.set(venue, (names = new Map()));
    let classes = names.get(raw);
    if (classes === undefined) {
      const n = norm(raw);
      classes = byVenue.get(venue)?.get(n) ?? byVenue.get('*')?.get(n) ?? null;
      names.set(raw, classes);
    }
    return classes;
  };
}

/** Step 1: raw GPU name → class: the first class (in class order) that the name's lookup finds. */
export function classifier(m: Methodology): (venue: string, raw: string) => string | null {
  const lookup = classLookup(m);
  return (venue, raw) => lookup(venue, raw)?.[0]?.code ?? null;
}

/**
 * Steps 3 and 4: the per-GPU price p, the throughput factor f (the class's reference score over the listing's
 * per-GPU score on the same benchmark, clamped to `perf_clamp`; 1 without a score) and the normalized price q = p × f.
 */
export function normalizedPrice(m: Methodology, cls: GpuClass, o: ObservationInput): { p: number; f: number; q: number } {
  const clamp = m.parameters.perf_clamp;
  const p = o.priceUsdPerHour / o.gpuCount;
  const ref = o.perfSystem !== null ? cls.reference_scores[o.perfSystem] : undefined;
  const f = ref !== undefined && o.perfScorePerGpu !== null && o.perfScorePerGpu > 0 ? Math.min(Math.max(ref / o.perfScorePerGpu, clamp[0]), clamp[1]) : 1;
  return { p, f, q: p * f };
}

/**
 * Step 9's conversion: every class's on-demand survivors in reference-class-equivalent units (q per reference
 * GPU-hour, w in reference GPU-hours); a class without a TFLOPS figure is `no_tflops`. New rows: no audit row is
 * shared with a class series.
 */
export function inReferenceUnits(m: Methodology, survivorsOf: (classCode: string) => readonly AuditRow[]): AuditRow[] {
  const refTflops = m.classes.find((c) => c.code === m.parameters.reference_class)!.tflops_bf16_dense!;
  const rows: AuditRow[] = [];
  for (const c of m.classes) {
    for (const s of survivorsOf(c.code)) {
      const t = c.tflops_bf16_dense;
      if (t === null) rows.push({ ...s, wCapped: null, reason: 'no_tflops' });
      else rows.push({ ...s, q: s.q! * (refTflops / t), w: (s.w! * t) / refTflops, wCapped: null, reason: null });
    }
  }
  return rows;
}

/**
 * The time weights (version 1 step 5): each venue's distinct instants in [from, to), from the parsed snapshots and
 * the inputs; an instant represents min(next instant, window end) − itself, in seconds, capped at max_gap_seconds.
 * Keyed by venue and instant.
 */
export function representedSeconds(
  m: Methodology,
  from: number,
  to: number,
  snaps: readonly SnapshotTime[],
  inputs: readonly ObservationInput[],
): Map<string, number> {
  const instants = new Map<string, number[]>();
  const addInstant = (venue: string, t: number) => {
    if (t < from || t >= to) return;
    let list = instants.get(venue);
    if (!list) instants.set(venue, (list = []));
    // A snapshot's inputs share its instant: keep one per run of equal instants (the set below removes the rest).
    if (list[list.length - 1] !== t) list.push(t);
  };
  for (const s of snaps) addInstant(s.venue, s.fetchedAt);
  for (const o of inputs) addInstant(o.venue, o.fetchedAt);
  const seconds = new Map<string, number>();
  const cap = m.parameters.max_gap_seconds;
  for (const [venue, list] of instants) {
    const ts = [...new Set(list)].sort((a, b) => a - b);
    ts.forEach((t, i) => {
      const next = i + 1 < ts.length ? Math.min(ts[i + 1]!, to) : to;
      seconds.set(`${venue}\u0000${t}`, Math.min((next - t) / 1000, cap));
    });
  }
  return seconds;
}

/** Canonical input order: venue, fetched_at, snapshot, position. Every loop and sum below runs in this order. */
export function compareInputs(a: ObservationInput, b: ObservationInput): number {
  if (a.venue !== b.venue) return a.venue < b.venue ? -1 : 1;
  if (a.fetchedAt !== b.fetchedAt) return a.fetchedAt - b.fetchedAt;
  if (a.snapshotSha256 !== b.snapshotSha256) return a.snapshotSha256 < b.snapshotSha256 ? -1 : 1;
  return a.seq - b.seq;
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

export function countExcluded(rows: readonly AuditRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) if (r.reason) out[r.reason] = (out[r.reason] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

const numText = (x: number | null) => (x === null || !Number.isFinite(x) ? 'null' : String(x));

export interface DigestOptions {
  /** Methodology v2 and later: each entry also lists the memory per GPU the venue reported (after perf_score). */
  memory?: boolean;
}

/**
 * sha256 over the canonical, sorted list of every input with its outcome and weights. Each entry is a flat array of
 * strings, finite numbers, booleans and nulls, whose canonical JSON is exactly JSON.stringify's, so the list is
 * hashed entry by entry instead of being built as one string (a day can hold millions of entries).
 */
export function inputDigest(rows: readonly AuditRow[], options: DigestOptions = {}): string {
  let inOrder = true;
  for (let i = 1; i < rows.length && inOrder; i++) inOrder = compareInputs(rows[i - 1]!.input, rows[i]!.input) <= 0;
  const sorted = inOrder ? rows : [...rows].sort((a, b) => compareInputs(a.input, b.input));
  const hash = createHash('sha256');
  const jsonText = jsonTexts();
  const repeated = numberTexts();
  const BATCH = 4096;
  hash.update('[');
  for (let i = 0; i < sorted.length; i += BATCH) {
    const parts: string[] = [];
    for (let j = i; j < Math.min(i + BATCH, sorted.length); j++) {
      const r = sorted[j]!;
      // Exactly JSON.stringify of [class, outcome, p, f, q, w, w'] without building the array: String(n) is
      // JSON's number form for every finite n, and numText gives null for the rest.
      parts.push(
        `${inputPrefix(r.input, jsonText, options.memory === true)},${r.classCode === null ? 'null' : jsonText(r.classCode)},${jsonText(r.reason ?? 'included')},${repeated(r.p)},${repeated(r.f)},${repeated(r.q)},${repeated(r.w)},${numText(r.wCapped)}]`,
      );
    }
    hash.update(i === 0 ? parts.join(',') : `,${parts.join(',')}`);
  }
  hash.update(']');
  return hash.digest('hex');
}

/**
 * The observation's part of a digest entry, without its closing bracket. Built afresh for every entry: kept per
 * input across a class's series, these strings (ropes of many small pieces) held most of a large day's heap.
 */
function inputPrefix(o: ObservationInput, jsonText: (s: string) => string, memory: boolean): string {
  // Exactly JSON.stringify([venue, fetched_at, sha256, seq, listing_id, gpu_raw, gpu_count, price, contract,
  // available, perf_system, perf_score(, gpu_memory_gb)]) without its closing bracket, built without the array:
  // numText is JSON's form of a number (null when not finite), and the strings that repeat are encoded once.
  return `[${jsonText(o.venue)},${numText(o.fetchedAt)},${jsonText(o.snapshotSha256)},${numText(o.seq)},${JSON.stringify(o.listingId)},${jsonText(o.gpuRaw)},${numText(o.gpuCount)},${numText(o.priceUsdPerHour)},${jsonText(o.contract)},${o.available ? 'true' : 'false'},${o.perfSystem === null ? 'null' : jsonText(o.perfSystem)},${numText(o.perfScorePerGpu)}${memory ? `,${numText(o.gpuMemoryGb ?? null)}` : ''}`;
}

/**
 * numText for the numbers that repeat across a digest's entries (a listing's price, factor and weight recur in
 * every snapshot it is seen in), each converted once. Bounded: past 65,536 distinct numbers it starts afresh.
 */
function numberTexts(): (x: number | null) => string {
  const texts = new Map<number, string>();
  return (x) => {
    if (x === null || !Number.isFinite(x)) return 'null';
    let text = texts.get(x);
    if (text === undefined) {
      if (texts.size >= 65_536) texts.clear();
      texts.set(x, (text = String(x)));
    }
    return text;
  };
}

/** A digest's JSON texts of the strings that repeat across inputs (venue, snapshot hash, GPU name, contract, benchmark system). */
function jsonTexts(): (s: string) => string {
  const texts = new Map<string, string>();
  return (s) => {
    let text = texts.get(s);
    if (text === undefined) texts.set(s, (text = JSON.stringify(s)));
    return text;
  };
}

/** The canonical bytes of a fixing record: what digests and signatures cover. */
export function canonicalRecord(record: FixingRecord): string {
  return canonicalJson(record);
}
