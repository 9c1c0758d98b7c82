// Pieces every methodology engine uses alike: the date window, rounding, GPU classification, steps 3 and 4, the
// time weights, share capping, exclusion counts and the input digest, all over columns (columns.ts). Changing one
// changes every engine: the lock (methodology/METHODOLOGY.lock) covers this file for each version.
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import { AuditColumns, INCLUDED, NONE, reasonCode, reasonOf, sameSnapshot, type ObservationColumns } from './columns.js';
import { weightedOrder, type WeightedOrder } from './quantile.js';
import type { GpuClass, Methodology } from './params.js';
import type { FixingRecord, SnapshotTime } from './types.js';

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
 * Step 1 for input rows: `classLookup` keyed by the row's venue and raw name, looked up once per distinct pair.
 */
export function rowClassLookup(m: Methodology, c: ObservationColumns): (row: number) => readonly GpuClass[] | null {
  const lookup = classLookup(m);
  const known = new Map<number, readonly GpuClass[] | null>();
  const width = c.strings.length;
  return (row) => {
    const key = c.venue[row]! * width + c.gpuRaw[row]!;
    let classes = known.get(key);
    if (classes === undefined) known.set(key, (classes = lookup(c.strings[c.venue[row]!]!, c.strings[c.gpuRaw[row]!]!)));
    return classes;
  };
}

/**
 * Steps 3 and 4 for class `cls`: the per-GPU price p, the throughput factor f (the class's reference score over the
 * listing's per-GPU score on the same benchmark, clamped to `perf_clamp`; 1 without a score) and the normalized
 * price q = p × f of input row `row`, written at audit position k.
 */
export function priceNormalizer(m: Methodology, cls: GpuClass, c: ObservationColumns): (row: number, a: AuditColumns, k: number) => void {
  const clamp = m.parameters.perf_clamp;
  // The class's reference score per benchmark system, looked up by the system's name as given.
  const refs = new Map<number, number | undefined>();
  const refOf = (system: number): number | undefined => {
    if (system === NONE) return undefined;
    if (!refs.has(system)) refs.set(system, cls.reference_scores[c.strings[system]!]);
    return refs.get(system);
  };
  return (row, a, k) => {
    const p = c.price[row]! / c.gpuCount[row]!;
    const ref = refOf(c.perfSystem[row]!);
    // A score of NaN stands for none (columns.ts); NaN > 0 is false, as null's test was.
    const score = c.perfScore[row]!;
    const f = ref !== undefined && score > 0 ? Math.min(Math.max(ref / score, clamp[0]), clamp[1]) : 1;
    a.p[k] = p;
    a.f[k] = f;
    a.q[k] = p * f;
    a.priced[k] = 1;
  };
}

/** An evaluation's audit and the positions in it of the inputs that survived steps 1 to 6. */
export interface Survivors {
  audit: AuditColumns;
  positions: Uint32Array;
}

/** Rows of `c` fetched in [from, to), ascending. */
export function rowsIn(c: ObservationColumns, from: number, to: number): Uint32Array {
  const at = c.snapshots.fetchedAt;
  const inside = Uint8Array.from(at, (t) => (t >= from && t < to ? 1 : 0));
  let n = 0;
  for (let r = 0; r < c.length; r++) n += inside[c.snapshot[r]!]!;
  const rows = new Uint32Array(n);
  n = 0;
  for (let r = 0; r < c.length; r++) if (inside[c.snapshot[r]!] === 1) rows[n++] = r;
  return rows;
}

/** Positions of an audit whose outcome is `included`, ascending. */
export function includedPositions(a: AuditColumns): Uint32Array {
  let n = 0;
  for (let k = 0; k < a.length; k++) if (a.reason[k] === INCLUDED) n++;
  const out = new Uint32Array(n);
  n = 0;
  for (let k = 0; k < a.length; k++) if (a.reason[k] === INCLUDED) out[n++] = k;
  return out;
}

/** Some positions of an audit as weighted-quantile items (a value and a weight each), in the rule's order. */
export function weightedItems(a: AuditColumns, positions: Uint32Array, value: (k: number) => number, weight: (k: number) => number): WeightedOrder {
  const n = positions.length;
  const values = new Float64Array(n);
  const weights = new Float64Array(n);
  const rows = new Uint32Array(n);
  for (let j = 0; j < n; j++) {
    const k = positions[j]!;
    values[j] = value(k);
    weights[j] = weight(k);
    rows[j] = a.row[k]!;
  }
  return weightedOrder(a.inputs, rows, values, weights);
}

/**
 * Distinct listings (venue and listing id) and venues among some positions of an audit. A pair of ids stands for
 * the text "venue NUL listing": one text per pair, as venue names hold no NUL (every venue adapter's names).
 */
export function distinct(a: AuditColumns, positions: ArrayLike<number>): { listings: number; venues: number } {
  const c = a.inputs;
  const width = c.strings.length;
  const listings = new Set<number>();
  const venues = new Set<number>();
  for (let j = 0; j < positions.length; j++) {
    const r = a.row[positions[j]!]!;
    listings.add(c.venue[r]! * width + c.listingId[r]!);
    venues.add(c.venue[r]!);
  }
  return { listings: listings.size, venues: venues.size };
}

/** An evaluation's audit reduced to its survivors, without w': all GPUIDX-COMPUTE reads of a class's evaluation. */
export function survivorsOnly<S extends Survivors>(s: S): S {
  const from = s.audit;
  const a = new AuditColumns(from.inputs, from.classes, s.positions.length);
  s.positions.forEach((k, j) => {
    a.row[j] = from.row[k]!;
    a.cls[j] = from.cls[k]!;
    a.reason[j] = from.reason[k]!;
    a.priced[j] = from.priced[k]!;
    a.p[j] = from.p[k]!;
    a.f[j] = from.f[k]!;
    a.q[j] = from.q[k]!;
    a.w[j] = from.w[k]!;
  });
  return { ...s, audit: a, positions: Uint32Array.from(s.positions.keys()) };
}

/**
 * Step 9's conversion into a new audit: every class's on-demand survivors in reference-class-equivalent units (q
 * per reference GPU-hour, w in reference GPU-hours; a class without a TFLOPS figure is `no_tflops`), and the
 * inputs of no class with the reason they have none, all in canonical order, with no w'.
 */
export function inReferenceUnits(
  m: Methodology,
  inputs: ObservationColumns,
  classCodes: readonly string[],
  survivorsOf: (classCode: string) => Survivors | undefined,
  classless: { rows: Uint32Array; reasons: Uint8Array },
): AuditColumns {
  const refTflops = m.classes.find((c) => c.code === m.parameters.reference_class)!.tflops_bf16_dense!;
  const parts = m.classes.map((c) => survivorsOf(c.code));
  let n = classless.rows.length;
  for (const part of parts) n += part?.positions.length ?? 0;
  // Each input is in one class at most, so a slot per input row puts the rows in canonical order.
  const slot = new Int32Array(inputs.length).fill(-1);
  const from = new Int32Array(n);
  const pos = new Uint32Array(n);
  let e = 0;
  parts.forEach((part, ci) => {
    if (!part) return;
    for (const k of part.positions) {
      slot[part.audit.row[k]!] = e;
      from[e] = ci;
      pos[e++] = k;
    }
  });
  for (let j = 0; j < classless.rows.length; j++) {
    slot[classless.rows[j]!] = e;
    from[e] = -1;
    pos[e++] = j;
  }
  // Canonical order; inputs tied on venue, instant, snapshot sha256 and position (a snapshot stored twice) keep the
  // order they are gathered in above: class by class in class order, then the inputs of no class.
  const entries = new Int32Array(n);
  let m1 = 0;
  for (let row = 0; row < inputs.length; row++) if (slot[row]! >= 0) entries[m1++] = slot[row]!;
  const tied = (x: number, y: number) => sameSnapshot(inputs, x, y) && inputs.seq[x] === inputs.seq[y];
  const rowOf = (entry: number) => (from[entry]! < 0 ? classless.rows[pos[entry]!]! : parts[from[entry]!]!.audit.row[pos[entry]!]!);
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && tied(rowOf(entries[i]!), rowOf(entries[j]!))) j++;
    if (j - i > 1) entries.subarray(i, j).sort((x, y) => x - y);
    i = j;
  }
  const out = new AuditColumns(inputs, classCodes, n);
  for (let k = 0; k < n; k++) {
    const entry = entries[k]!;
    const ci = from[entry]!;
    if (ci < 0) {
      out.row[k] = classless.rows[pos[entry]!]!;
      out.cls[k] = NONE;
      out.reason[k] = classless.reasons[pos[entry]!]!;
      continue;
    }
    const s = parts[ci]!.audit;
    const j = pos[entry]!;
    const t = m.classes[ci]!.tflops_bf16_dense;
    out.row[k] = s.row[j]!;
    out.cls[k] = s.cls[j]!;
    out.priced[k] = 1;
    out.p[k] = s.p[j]!;
    out.f[k] = s.f[j]!;
    if (t === null) {
      out.reason[k] = NO_TFLOPS;
      out.q[k] = s.q[j]!;
      out.w[k] = s.w[j]!;
    } else {
      out.q[k] = s.q[j]! * (refTflops / t);
      out.w[k] = (s.w[j]! * t) / refTflops;
    }
  }
  return out;
}

const NO_TFLOPS = reasonCode('no_tflops');

/**
 * The time weights (version 1 step 5): each venue's distinct instants in [from, to), from the parsed snapshots and
 * the inputs; an instant represents min(next instant, window end) − itself, in seconds, capped at max_gap_seconds.
 * Returns the seconds of each snapshot entry of the columns that holds one of `rows` (input rows in [from, to)).
 */
export function representedSeconds(
  m: Methodology,
  from: number,
  to: number,
  snaps: readonly SnapshotTime[],
  c: ObservationColumns,
  rows: Uint32Array,
): Float64Array {
  const s = c.snapshots;
  const held = new Uint8Array(s.length);
  for (const r of rows) held[c.snapshot[r]!] = 1;
  const instants = new Map<number, number[]>();
  const venueIds = new Map<string, number>();
  for (let k = 0; k < s.length; k++) {
    if (held[k] !== 1) continue;
    let list = instants.get(s.venue[k]!);
    if (!list) {
      instants.set(s.venue[k]!, (list = []));
      venueIds.set(c.strings[s.venue[k]!]!, s.venue[k]!);
    }
    list.push(s.fetchedAt[k]!);
  }
  // A snapshot that held no input of the window still bounds the time its venue's previous snapshot represents.
  for (const snap of snaps) {
    const v = venueIds.get(snap.venue);
    if (v !== undefined && snap.fetchedAt >= from && snap.fetchedAt < to) instants.get(v)!.push(snap.fetchedAt);
  }
  const sorted = new Map<number, number[]>();
  for (const [v, list] of instants)
    sorted.set(
      v,
      [...new Set(list)].sort((a, b) => a - b),
    );
  const cap = m.parameters.max_gap_seconds;
  const out = new Float64Array(s.length);
  for (let k = 0; k < s.length; k++) {
    if (held[k] !== 1) continue;
    const ts = sorted.get(s.venue[k]!)!;
    const t = s.fetchedAt[k]!;
    // The instant's place among its venue's, by bisection.
    let lo = 0;
    let hi = ts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ts[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    const next = lo + 1 < ts.length ? Math.min(ts[lo + 1]!, to) : to;
    out[k] = Math.min((next - t) / 1000, cap);
  }
  return out;
}

/** Step 8: the venue cap, iterated until no venue is above it. Venues in name order. */
export function capVenueShares(shares: ReadonlyMap<string, number>, venueCap: number): { cap: number; capped: Map<string, number> } {
  return capSharesInOrder([...shares.keys()].sort(), shares, venueCap);
}

/**
 * The capping rule of `capVenueShares` over keys of any kind, given in the order their names sort in (methodology
 * v2 caps hosts, keyed by venue and host, with it).
 */
export function capSharesInOrder<K>(keys: readonly K[], shares: ReadonlyMap<K, number>, venueCap: number): { cap: number; capped: Map<K, number> } {
  const cap = venueCap * keys.length < 1 ? 1 / keys.length : venueCap;
  const fixed = new Set<K>();
  let capped = new Map(keys.map((v) => [v, shares.get(v)!]));
  for (;;) {
    const over = keys.filter((v) => !fixed.has(v) && capped.get(v)! > cap);
    if (over.length === 0) return { cap, capped };
    for (const v of over) fixed.add(v);
    let free = 0;
    for (const v of keys) if (!fixed.has(v)) free += shares.get(v)!;
    const remaining = 1 - fixed.size * cap;
    capped = new Map(keys.map((v) => [v, fixed.has(v) ? cap : free > 0 ? (shares.get(v)! * remaining) / free : 0]));
  }
}

/** Each exclusion reason's count over an audit, reasons in name order. */
export function countExcluded(a: AuditColumns): Record<string, number> {
  const counts = new Map<number, number>();
  for (const code of a.reason) if (code !== 0) counts.set(code, (counts.get(code) ?? 0) + 1);
  const out: Record<string, number> = {};
  for (const [reason, n] of [...counts].map(([code, n]) => [reasonOf(code)!, n] as const).sort(([x], [y]) => (x < y ? -1 : 1))) out[reason] = n;
  return out;
}

export interface DigestOptions {
  /** Methodology v2 and later: each entry also lists the memory per GPU the venue reported (after perf_score). */
  memory?: boolean;
}

const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const DOT = 0x2e;
const MINUS = 0x2d;
const ZERO = 0x30;
const NULL = Buffer.from('null');
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');

/**
 * Writes at `pos` the JSON form of a number (what JSON.stringify writes: its shortest round-trip form, or null when
 * not finite) and returns the position after it (at most 25 bytes). A plain decimal of at most eight places is
 * written digit by digit, without a string: it is exactly String's form where String writes no exponent (from
 * 1e-6) and such decimals lie further apart than doubles do (below 1e7), so no shorter text reads back as it.
 */
function writeNumber(buf: Buffer, pos: number, x: number): number {
  if (!Number.isFinite(x)) {
    buf.set(NULL, pos);
    return pos + 4;
  }
  let v = x;
  if (v < 0) {
    buf[pos++] = MINUS;
    v = -v;
  }
  if (Number.isInteger(v) && v < 2 ** 53) return writeDigits(buf, pos, v);
  if (v >= 1e-6 && v < 1e7) {
    const r = Math.round(v * 1e8);
    if (r / 1e8 === v) {
      const whole = Math.floor(r / 1e8);
      let frac = r - whole * 1e8;
      pos = writeDigits(buf, pos, whole);
      buf[pos++] = DOT;
      let places = 8;
      while (frac % 10 === 0) {
        frac /= 10;
        places--;
      }
      for (let i = places - 1; i >= 0; i--) {
        buf[pos + i] = ZERO + (frac % 10);
        frac = Math.floor(frac / 10);
      }
      return pos + places;
    }
  }
  return pos + buf.write(String(v), pos, 'latin1');
}

/** A whole number below 2^53, in decimal digits. */
function writeDigits(buf: Buffer, pos: number, n: number): number {
  let len = 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) len++;
  for (let i = len - 1; i >= 0; i--) {
    buf[pos + i] = ZERO + (n % 10);
    n = Math.floor(n / 10);
  }
  return pos + len;
}

/** The JSON form of a number as a digest writes it (tests hold it to JSON.stringify). */
export function jsonNumber(x: number): string {
  const buf = Buffer.alloc(32);
  return buf.toString('latin1', 0, writeNumber(buf, 0, x));
}

/** The JSON text of a digest, written as bytes into a buffer that is hashed a megabyte at a time. */
class DigestWriter {
  readonly #hash = createHash('sha256');
  readonly #buf = Buffer.allocUnsafe(1 << 20);
  #pos = 0;

  #room(n: number): void {
    if (this.#pos + n > this.#buf.length) {
      this.#hash.update(this.#buf.subarray(0, this.#pos));
      this.#pos = 0;
    }
  }

  byte(b: number): void {
    this.#room(1);
    this.#buf[this.#pos++] = b;
  }

  bytes(b: Uint8Array): void {
    if (b.length > this.#buf.length) {
      this.#room(this.#buf.length);
      this.#hash.update(b);
      return;
    }
    this.#room(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  number(x: number): void {
    this.#room(32);
    this.#pos = writeNumber(this.#buf, this.#pos, x);
  }

  digest(): string {
    this.#hash.update(this.#buf.subarray(0, this.#pos));
    return this.#hash.digest('hex');
  }
}

/**
 * sha256 over the canonical list of every audited input with its outcome and weights, in canonical input order (the
 * audit's order). Each entry is a flat array of strings, finite numbers, booleans and nulls, whose canonical JSON
 * is exactly JSON.stringify's:
 * [venue, fetched_at, sha256, seq, listing_id, gpu_raw, gpu_count, price, contract, available, perf_system,
 * perf_score(, gpu_memory_gb), class, outcome, p, f, q, w, w'], with null for what is absent (and for a number
 * that is not finite). The list is written entry by entry as bytes, never built as one string (a day holds millions).
 */
export function inputDigest(a: AuditColumns, options: DigestOptions = {}): string {
  const c = a.inputs;
  const memory = options.memory === true;
  // Audits are built in canonical order (ties only among inputs of a snapshot stored twice); the digest relies on it.
  for (let k = 1; k < a.length; k++) {
    const x = a.row[k - 1]!;
    const y = a.row[k]!;
    if (x > y && !(sameSnapshot(c, x, y) && c.seq[x] === c.seq[y])) throw new Error('audit rows out of canonical order');
  }
  // The JSON texts of the strings, as bytes, made once each.
  const json: (Buffer | undefined)[] = new Array(c.strings.length);
  const jsonOf = (id: number) => json[id] ?? (json[id] = Buffer.from(JSON.stringify(c.strings[id]!), 'utf8'));
  const classJson = a.classes.map((code) => Buffer.from(JSON.stringify(code), 'utf8'));
  const reasonJson = ['included', ...Array.from({ length: 32 }, (_, i) => reasonOf(i + 1))].map((r) => Buffer.from(JSON.stringify(r ?? null), 'utf8'));
  const weights = [a.p, a.f, a.q, a.w];
  const out = new DigestWriter();
  out.byte(OPEN);
  for (let k = 0; k < a.length; k++) {
    const r = a.row[k]!;
    const s = c.snapshot[r]!;
    if (k > 0) out.byte(COMMA);
    out.byte(OPEN);
    out.bytes(jsonOf(c.venue[r]!));
    out.byte(COMMA);
    out.number(c.snapshots.fetchedAt[s]!);
    out.byte(COMMA);
    out.bytes(jsonOf(c.snapshots.sha256[s]!));
    out.byte(COMMA);
    out.number(c.seq[r]!);
    out.byte(COMMA);
    out.bytes(jsonOf(c.listingId[r]!));
    out.byte(COMMA);
    out.bytes(jsonOf(c.gpuRaw[r]!));
    out.byte(COMMA);
    out.number(c.gpuCount[r]!);
    out.byte(COMMA);
    out.number(c.price[r]!);
    out.byte(COMMA);
    out.bytes(jsonOf(c.contract[r]!));
    out.byte(COMMA);
    out.bytes(c.available[r] === 1 ? TRUE : FALSE);
    out.byte(COMMA);
    out.bytes(c.perfSystem[r] === NONE ? NULL : jsonOf(c.perfSystem[r]!));
    out.byte(COMMA);
    out.number(c.perfScore[r]!);
    if (memory) {
      out.byte(COMMA);
      if (c.hasMemory[r] === 1) out.number(c.memoryGb[r]!);
      else out.bytes(NULL);
    }
    out.byte(COMMA);
    out.bytes(a.cls[k] === NONE ? NULL : classJson[a.cls[k]!]!);
    out.byte(COMMA);
    out.bytes(reasonJson[a.reason[k]!]!);
    for (const v of weights) {
      out.byte(COMMA);
      if (a.priced[k] === 1) out.number(v[k]!);
      else out.bytes(NULL);
    }
    out.byte(COMMA);
    if (a.capped[k] === 1) out.number(a.wCapped[k]!);
    else out.bytes(NULL);
    out.byte(CLOSE);
  }
  out.byte(CLOSE);
  return out.digest();
}

/** The canonical bytes of a fixing record: what digests and signatures cover. */
export function canonicalRecord(record: FixingRecord): string {
  return canonicalJson(record);
}
