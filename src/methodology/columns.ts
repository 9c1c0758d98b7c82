// The methodology's inputs and audit trail as columns: one typed array per field, every string an index into one
// dictionary, rows in canonical input order (venue, fetched_at, snapshot sha256, position). What a snapshot's
// rows share (its id, sha256, instant, provenance) is held once per snapshot; whole numbers are held as 32-bit
// integers while every value fits. A day of a million observations is some 60 MB here, against well over a
// kilobyte an observation as objects; and because row i precedes row j in canonical order exactly when i < j,
// "canonical order" is index order everywhere below.
import type { AuditRow, ExclusionReason, ObservationInput } from './types.js';
import { EXCLUSION_REASONS } from './types.js';

/** Null in a nullable string column. */
export const NONE = -1;

/** A column of numbers that are whole while they fit 32 bits, else any doubles: the same values either way. */
export type Numbers = Int32Array | Float32Array | Float64Array;

/** The snapshots a window's rows belong to: one entry per snapshot, indexed by a row's `snapshot`. */
export interface SnapshotColumns {
  readonly length: number;
  readonly id: Numbers;
  readonly sha256: Int32Array;
  readonly venue: Int32Array;
  readonly fetchedAt: Float64Array;
  /** NONE: provenance not given. */
  readonly source: Int32Array;
}

/** A window's observations, column by column, in canonical input order. */
export interface ObservationColumns {
  readonly length: number;
  /** Every string of every column, once; the string columns hold indexes into it. */
  readonly strings: readonly string[];
  /** Each string's position in code-unit order (the order of `<` on strings): compares strings as numbers. */
  readonly rank: Int32Array;
  readonly snapshots: SnapshotColumns;
  /** The row's entry in `snapshots`. */
  readonly snapshot: Int32Array;
  /** The row's venue (its snapshot's, held per row: nearly every rule reads it). */
  readonly venue: Int32Array;
  readonly observationId: Numbers;
  readonly seq: Numbers;
  readonly listingId: Int32Array;
  readonly gpuRaw: Int32Array;
  readonly gpuCount: Numbers;
  readonly price: Float64Array;
  readonly contract: Int32Array;
  readonly available: Uint8Array;
  /** NONE: null. */
  readonly perfSystem: Int32Array;
  /** NaN: null (the methodology treats a NaN score as no score). */
  readonly perfScore: Float64Array;
  /** NONE: null. */
  readonly hostId: Int32Array;
  readonly quantityReported: Uint8Array;
  /** NONE: null. */
  readonly machineId: Int32Array;
  /** Whether the venue reported a memory per GPU (0: null), and the figure. */
  readonly hasMemory: Uint8Array;
  readonly memoryGb: Numbers;
}

/** The instant of row r's snapshot. */
export const fetchedAtOf = (c: ObservationColumns, r: number): number => c.snapshots.fetchedAt[c.snapshot[r]!]!;

/** Whether rows x and y are of one snapshot key (venue, instant and sha256): the methodology's snapshot. */
export function sameSnapshot(c: ObservationColumns, x: number, y: number): boolean {
  const s = c.snapshots;
  const a = c.snapshot[x]!;
  const b = c.snapshot[y]!;
  return a === b || (s.venue[a] === s.venue[b] && s.fetchedAt[a] === s.fetchedAt[b] && s.sha256[a] === s.sha256[b]);
}

/**
 * Observations of one snapshot given as columns with a string table of their own (storage keeps each snapshot's so):
 * string columns hold indexes into `strings` (-1: null), `flags` holds the bits `bits` names.
 */
export interface ObservationChunk {
  length: number;
  strings: readonly string[];
  /** Each observation's id is `firstObservationId + idOffset[k]`. */
  firstObservationId: number;
  idOffset: ArrayLike<number>;
  seq: ArrayLike<number>;
  listingId: ArrayLike<number>;
  hostId: ArrayLike<number>;
  gpuRaw: ArrayLike<number>;
  contract: ArrayLike<number>;
  perfSystem: ArrayLike<number>;
  machineId: ArrayLike<number>;
  gpuCount: ArrayLike<number>;
  price: ArrayLike<number>;
  perfScore: ArrayLike<number>;
  memory: ArrayLike<number>;
  flags: ArrayLike<number>;
  bits: { available: number; quantityReported: number; hasPerfScore: number; hasMemory: number };
}

/** The per-snapshot fields of the observations added next to a builder. */
export interface SnapshotFields {
  snapshotId: number;
  sha256: string;
  venue: string;
  fetchedAt: number;
  source: 'http' | 'file' | undefined;
}

const isInt32 = (x: number) => (x | 0) === x && !Object.is(x, -0);
const isFloat32 = (x: number) => Math.fround(x) === x || Number.isNaN(x);

/** A growable column of numbers, narrow (Int32 or Float32) until a value needs a double, then Float64. */
class NumberColumn {
  values: Numbers;
  readonly #fits: (x: number) => boolean;
  constructor(capacity: number, narrow: 'int' | 'float') {
    this.values = narrow === 'int' ? new Int32Array(capacity) : new Float32Array(capacity);
    this.#fits = narrow === 'int' ? isInt32 : isFloat32;
  }
  set(i: number, x: number): void {
    if (!(this.values instanceof Float64Array) && !this.#fits(x)) this.values = Float64Array.from(this.values);
    this.values[i] = x;
  }
  grow(capacity: number): void {
    const next = new (this.values.constructor as new (n: number) => Numbers)(capacity);
    next.set(this.values);
    this.values = next;
  }
}

type RowArray = Int32Array | Uint8Array | Float64Array;
const ROW_ARRAYS = {
  snapshot: Int32Array,
  venue: Int32Array,
  listingId: Int32Array,
  gpuRaw: Int32Array,
  price: Float64Array,
  contract: Int32Array,
  available: Uint8Array,
  perfSystem: Int32Array,
  perfScore: Float64Array,
  hostId: Int32Array,
  quantityReported: Uint8Array,
  machineId: Int32Array,
  hasMemory: Uint8Array,
} as const;
type RowArrayName = keyof typeof ROW_ARRAYS;
const ROW_ARRAY_NAMES = Object.keys(ROW_ARRAYS) as RowArrayName[];
const NUMBER_COLUMNS = { observationId: 'int', seq: 'int', gpuCount: 'int', memoryGb: 'float' } as const;
type NumberColumnName = keyof typeof NUMBER_COLUMNS;
const NUMBER_COLUMN_NAMES = Object.keys(NUMBER_COLUMNS) as NumberColumnName[];

/**
 * Collects observations in any order (storage reads them a snapshot at a time, replay parses them), then `build()`
 * puts them in canonical order. Strings are interned as they arrive, so a listing seen in every snapshot of a day
 * is one string. Give the number of rows when it is known: the columns are then allocated once.
 */
export class ObservationColumnsBuilder {
  #n = 0;
  #capacity: number;
  readonly #ids = new Map<string, number>();
  readonly #strings: string[] = [];
  #rows: Record<RowArrayName, RowArray>;
  readonly #numbers: Record<NumberColumnName, NumberColumn>;
  readonly #snapshots = { id: new NumberColumn(64, 'int'), sha256: [] as number[], venue: [] as number[], fetchedAt: [] as number[], source: [] as number[] };
  #current = -1;
  readonly #remaps = new WeakMap<ObservationColumns, Int32Array>();

  constructor(capacity = 1024) {
    this.#capacity = Math.max(16, capacity);
    this.#rows = Object.fromEntries(ROW_ARRAY_NAMES.map((k) => [k, new ROW_ARRAYS[k](this.#capacity)])) as Record<RowArrayName, RowArray>;
    this.#numbers = Object.fromEntries(NUMBER_COLUMN_NAMES.map((k) => [k, new NumberColumn(this.#capacity, NUMBER_COLUMNS[k])])) as Record<
      NumberColumnName,
      NumberColumn
    >;
  }

  get length(): number {
    return this.#n;
  }

  intern(s: string | null | undefined): number {
    if (s == null) return NONE;
    let id = this.#ids.get(s);
    if (id === undefined) {
      id = this.#strings.length;
      this.#strings.push(s);
      this.#ids.set(s, id);
    }
    return id;
  }

  /** Sets the snapshot the next `add` calls belong to (the same fields as the current snapshot's start no new one). */
  snapshot(s: SnapshotFields): void {
    const sn = this.#snapshots;
    const sha256 = this.intern(s.sha256);
    const venue = this.intern(s.venue);
    const source = this.intern(s.source);
    const k = this.#current;
    if (
      k >= 0 &&
      sn.id.values[k] === s.snapshotId &&
      sn.sha256[k] === sha256 &&
      sn.venue[k] === venue &&
      sn.fetchedAt[k] === s.fetchedAt &&
      sn.source[k] === source
    )
      return;
    this.#current = sn.sha256.length;
    if (this.#current === sn.id.values.length) sn.id.grow(2 * this.#current);
    sn.id.set(this.#current, s.snapshotId);
    sn.sha256.push(sha256);
    sn.venue.push(venue);
    sn.fetchedAt.push(s.fetchedAt);
    sn.source.push(source);
  }

  /** One observation of the current snapshot, field by field (no object per row on the storage path). */
  add(
    observationId: number,
    seq: number,
    listingId: string,
    hostId: string | null | undefined,
    gpuRaw: string,
    gpuCount: number,
    price: number,
    contract: string,
    available: boolean,
    perfSystem: string | null,
    perfScore: number | null,
    quantityReported: boolean | undefined,
    machineId: string | null | undefined,
    memoryGb: number | null | undefined,
  ): void {
    if (this.#current < 0) throw new Error('observation added before its snapshot');
    if (this.#n === this.#capacity) this.#grow();
    const i = this.#n++;
    const c = this.#rows;
    const num = this.#numbers;
    c.snapshot[i] = this.#current;
    c.venue[i] = this.#snapshots.venue[this.#current]!;
    num.observationId.set(i, observationId);
    num.seq.set(i, seq);
    c.listingId[i] = this.intern(listingId);
    c.gpuRaw[i] = this.intern(gpuRaw);
    num.gpuCount.set(i, gpuCount);
    c.price[i] = price;
    c.contract[i] = this.intern(contract);
    c.available[i] = available ? 1 : 0;
    c.perfSystem[i] = this.intern(perfSystem);
    c.perfScore[i] = perfScore ?? Number.NaN;
    c.hostId[i] = this.intern(hostId);
    c.quantityReported[i] = quantityReported === true ? 1 : 0;
    c.machineId[i] = this.intern(machineId);
    c.hasMemory[i] = memoryGb == null ? 0 : 1;
    num.memoryGb.set(i, memoryGb ?? 0);
  }

  /** Rows [from, to) of other columns, all of one snapshot, as the current snapshot's observations (copied). */
  addRows(src: ObservationColumns, from: number, to: number): void {
    if (this.#current < 0) throw new Error('observations added before their snapshot');
    let remap = this.#remaps.get(src);
    if (!remap) this.#remaps.set(src, (remap = new Int32Array(src.strings.length).fill(-2)));
    const id = (i: number) => {
      if (i === NONE) return NONE;
      if (remap[i] === -2) remap[i] = this.intern(src.strings[i]!);
      return remap[i]!;
    };
    const c = this.#rows;
    const num = this.#numbers;
    const venue = this.#snapshots.venue[this.#current]!;
    for (let r = from; r < to; r++) {
      if (this.#n === this.#capacity) this.#grow();
      const i = this.#n++;
      c.snapshot[i] = this.#current;
      c.venue[i] = venue;
      num.observationId.set(i, src.observationId[r]!);
      num.seq.set(i, src.seq[r]!);
      c.listingId[i] = id(src.listingId[r]!);
      c.gpuRaw[i] = id(src.gpuRaw[r]!);
      num.gpuCount.set(i, src.gpuCount[r]!);
      c.price[i] = src.price[r]!;
      c.contract[i] = id(src.contract[r]!);
      c.available[i] = src.available[r]!;
      c.perfSystem[i] = id(src.perfSystem[r]!);
      c.perfScore[i] = src.perfScore[r]!;
      c.hostId[i] = id(src.hostId[r]!);
      c.quantityReported[i] = src.quantityReported[r]!;
      c.machineId[i] = id(src.machineId[r]!);
      c.hasMemory[i] = src.hasMemory[r]!;
      num.memoryGb.set(i, src.memoryGb[r]!);
    }
  }

  /** A chunk of the current snapshot's observations: each distinct string is interned once, not once a row. */
  addChunk(x: ObservationChunk): void {
    if (this.#current < 0) throw new Error('observations added before their snapshot');
    const remap = Int32Array.from(x.strings, (s) => this.intern(s));
    const id = (i: number) => (i < 0 ? NONE : remap[i]!);
    const c = this.#rows;
    const num = this.#numbers;
    const venue = this.#snapshots.venue[this.#current]!;
    const { available, quantityReported, hasPerfScore, hasMemory } = x.bits;
    for (let k = 0; k < x.length; k++) {
      if (this.#n === this.#capacity) this.#grow();
      const i = this.#n++;
      const flags = x.flags[k]!;
      c.snapshot[i] = this.#current;
      c.venue[i] = venue;
      num.observationId.set(i, x.firstObservationId + x.idOffset[k]!);
      num.seq.set(i, x.seq[k]!);
      c.listingId[i] = id(x.listingId[k]!);
      c.gpuRaw[i] = id(x.gpuRaw[k]!);
      num.gpuCount.set(i, x.gpuCount[k]!);
      c.price[i] = x.price[k]!;
      c.contract[i] = id(x.contract[k]!);
      c.available[i] = flags & available ? 1 : 0;
      c.perfSystem[i] = id(x.perfSystem[k]!);
      c.perfScore[i] = flags & hasPerfScore ? x.perfScore[k]! : Number.NaN;
      c.hostId[i] = id(x.hostId[k]!);
      c.quantityReported[i] = flags & quantityReported ? 1 : 0;
      c.machineId[i] = id(x.machineId[k]!);
      c.hasMemory[i] = flags & hasMemory ? 1 : 0;
      num.memoryGb.set(i, flags & hasMemory ? x.memory[k]! : 0);
    }
  }

  /** One observation given as an object (tests, and callers that hold objects anyway). */
  addInput(o: ObservationInput): void {
    this.snapshot({ snapshotId: o.snapshotId, sha256: o.snapshotSha256, venue: o.venue, fetchedAt: o.fetchedAt, source: o.source });
    this.add(
      o.observationId,
      o.seq,
      o.listingId,
      o.hostId,
      o.gpuRaw,
      o.gpuCount,
      o.priceUsdPerHour,
      o.contract,
      o.available,
      o.perfSystem,
      o.perfScorePerGpu,
      o.quantityReported,
      o.machineId,
      o.gpuMemoryGb,
    );
  }

  #grow(): void {
    this.#capacity *= 2;
    for (const k of ROW_ARRAY_NAMES) {
      const next = new ROW_ARRAYS[k](this.#capacity);
      next.set(this.#rows[k] as never);
      this.#rows[k] = next;
    }
    for (const k of NUMBER_COLUMN_NAMES) this.#numbers[k].grow(this.#capacity);
  }

  /** The observations in canonical order (ties, which only a snapshot stored twice can make, in the order added); empties the builder. */
  build(): ObservationColumns {
    const n = this.#n;
    const strings = this.#strings;
    const rank = stringRanks(strings);
    const sn = this.#snapshots;
    const snapshots: SnapshotColumns = {
      length: sn.sha256.length,
      id: sn.id.values.slice(0, sn.sha256.length),
      sha256: Int32Array.from(sn.sha256),
      venue: Int32Array.from(sn.venue),
      fetchedAt: Float64Array.from(sn.fetchedAt),
      source: Int32Array.from(sn.source),
    };
    const order = canonicalOrder(n, this.#rows.snapshot as Int32Array, this.#numbers.seq.values, snapshots, rank);
    const permuted = <T extends RowArray | Numbers>(from: T): T => {
      if (order === null) return (from.length === n ? from : from.slice(0, n)) as T;
      const to = new (from.constructor as new (n: number) => T)(n);
      for (let i = 0; i < n; i++) to[i] = from[order[i]!]!;
      return to;
    };
    const out: Record<string, unknown> = { length: n, strings, rank, snapshots };
    // Each buffer is let go as soon as its ordered copy exists: a large window is held once, plus one column.
    for (const k of ROW_ARRAY_NAMES) {
      out[k] = permuted(this.#rows[k]);
      this.#rows[k] = new ROW_ARRAYS[k](0);
    }
    for (const k of NUMBER_COLUMN_NAMES) {
      out[k] = permuted(this.#numbers[k].values);
      this.#numbers[k].values = new Int32Array(0);
    }
    this.#n = 0;
    return out as unknown as ObservationColumns;
  }
}

/** Columns of a list of inputs, in canonical order whatever the list's order. */
export function observationColumns(inputs: readonly ObservationInput[]): ObservationColumns {
  const b = new ObservationColumnsBuilder(inputs.length);
  for (const o of inputs) b.addInput(o);
  return b.build();
}

/** Columns of a request's observations: columns as given (storage and replay build them), objects put in canonical order. */
export function inputColumns(observations: ObservationColumns | readonly ObservationInput[]): ObservationColumns {
  return Array.isArray(observations) ? observationColumns(observations as readonly ObservationInput[]) : (observations as ObservationColumns);
}

/** Each string's position when the strings are sorted by `<` (UTF-16 code units), as canonical order sorts them. */
function stringRanks(strings: readonly string[]): Int32Array {
  const byValue = Array.from(strings.keys()).sort((a, b) => (strings[a]! < strings[b]! ? -1 : strings[a]! > strings[b]! ? 1 : 0));
  const rank = new Int32Array(strings.length);
  byValue.forEach((id, position) => {
    rank[id] = position;
  });
  return rank;
}

/**
 * The permutation that puts rows in canonical order: venue, fetched_at, snapshot sha256, position; null when they
 * already are. Rows mostly arrive a snapshot at a time with ascending positions, so runs of one snapshot are
 * ordered among themselves and kept whole; anything else is sorted row by row.
 */
function canonicalOrder(n: number, snapshot: Int32Array, seq: Numbers, s: SnapshotColumns, rank: Int32Array): Uint32Array | null {
  // Snapshots by key; equal keys (a snapshot stored twice) compare equal.
  const keyOrder = (a: number, b: number) => {
    if (s.venue[a] !== s.venue[b]) return rank[s.venue[a]!]! - rank[s.venue[b]!]!;
    if (s.fetchedAt[a] !== s.fetchedAt[b]) return s.fetchedAt[a]! - s.fetchedAt[b]!;
    if (s.sha256[a] !== s.sha256[b]) return rank[s.sha256[a]!]! - rank[s.sha256[b]!]!;
    return 0;
  };
  const cmpRows = (a: number, b: number) => {
    const byKey = keyOrder(snapshot[a]!, snapshot[b]!);
    if (byKey !== 0) return byKey;
    const d = seq[a]! - seq[b]!;
    return d !== 0 && !Number.isNaN(d) ? d : a - b;
  };
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = cmpRows(i - 1, i) < 0;
  if (sorted) return null;
  // Runs of one snapshot entry whose positions ascend, each entry in one run only.
  const starts: number[] = [];
  const seen = new Set<number>();
  let runsHold = true;
  for (let i = 0; i < n && runsHold; i++) {
    if (i > 0 && snapshot[i] === snapshot[i - 1]) runsHold = seq[i - 1]! < seq[i]!;
    else {
      runsHold = !seen.has(snapshot[i]!);
      seen.add(snapshot[i]!);
      starts.push(i);
    }
  }
  const order = new Uint32Array(n);
  if (runsHold) {
    const runs = starts.map((start, k) => ({ start, end: starts[k + 1] ?? n }));
    runs.sort((x, y) => keyOrder(snapshot[x.start]!, snapshot[y.start]!) || x.start - y.start);
    // Two runs of one snapshot key (a snapshot stored twice) interleave by position: only a row sort orders them.
    let disjoint = true;
    for (let k = 1; k < runs.length && disjoint; k++) disjoint = keyOrder(snapshot[runs[k - 1]!.start]!, snapshot[runs[k]!.start]!) !== 0;
    if (disjoint) {
      let at = 0;
      for (const r of runs) for (let i = r.start; i < r.end; i++) order[at++] = i;
      return order;
    }
  }
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort(cmpRows);
}

/** Row i of the columns as an object: for tests, reports and the few callers that want one input. */
export function inputAt(c: ObservationColumns, i: number): ObservationInput {
  const str = (id: number) => (id === NONE ? null : c.strings[id]!);
  const k = c.snapshot[i]!;
  const source = str(c.snapshots.source[k]!);
  return {
    observationId: c.observationId[i]!,
    snapshotId: c.snapshots.id[k]!,
    snapshotSha256: c.strings[c.snapshots.sha256[k]!]!,
    seq: c.seq[i]!,
    venue: c.strings[c.venue[i]!]!,
    fetchedAt: c.snapshots.fetchedAt[k]!,
    listingId: c.strings[c.listingId[i]!]!,
    gpuRaw: c.strings[c.gpuRaw[i]!]!,
    gpuCount: c.gpuCount[i]!,
    priceUsdPerHour: c.price[i]!,
    contract: c.strings[c.contract[i]!]! as ObservationInput['contract'],
    available: c.available[i] === 1,
    perfSystem: str(c.perfSystem[i]!),
    perfScorePerGpu: Number.isNaN(c.perfScore[i]!) ? null : c.perfScore[i]!,
    ...(source === null ? {} : { source: source as 'http' | 'file' }),
    hostId: str(c.hostId[i]!),
    quantityReported: c.quantityReported[i] === 1,
    machineId: str(c.machineId[i]!),
    gpuMemoryGb: c.hasMemory[i] === 1 ? c.memoryGb[i]! : null,
  };
}

/** The index of a string in the columns' dictionary, NONE when no row holds it. */
export function stringId(c: ObservationColumns, s: string): number {
  return c.strings.indexOf(s);
}

/** An exclusion reason as stored in an audit column: 0 for an included input, else its position in EXCLUSION_REASONS plus 1. */
export const INCLUDED = 0;
export const reasonCode = (r: ExclusionReason): number => EXCLUSION_REASONS.indexOf(r) + 1;
export const reasonOf = (code: number): ExclusionReason | null => (code === INCLUDED ? null : EXCLUSION_REASONS[code - 1]!);

/**
 * A fixing's audit rows as columns, in canonical input order: the input (a row of `inputs`), its class (an index
 * into `classes`, NONE for none) and outcome, and p, f, q, w (set together: `priced`) and w' (`capped`).
 */
export class AuditColumns {
  readonly row: Uint32Array;
  readonly cls: Int16Array;
  readonly reason: Uint8Array;
  readonly priced: Uint8Array;
  readonly p: Float64Array;
  readonly f: Float64Array;
  readonly q: Float64Array;
  readonly w: Float64Array;
  readonly capped: Uint8Array;
  readonly wCapped: Float64Array;

  constructor(
    readonly inputs: ObservationColumns,
    readonly classes: readonly string[],
    readonly length: number,
  ) {
    this.row = new Uint32Array(length);
    this.cls = new Int16Array(length);
    this.reason = new Uint8Array(length);
    this.priced = new Uint8Array(length);
    this.p = new Float64Array(length);
    this.f = new Float64Array(length);
    this.q = new Float64Array(length);
    this.w = new Float64Array(length);
    this.capped = new Uint8Array(length);
    this.wCapped = new Float64Array(length);
  }
}

/** The audit rows as objects (tests, and comparisons against a reference calculation). */
export function auditRows(a: AuditColumns): AuditRow[] {
  const out: AuditRow[] = [];
  for (let i = 0; i < a.length; i++) {
    const priced = a.priced[i] === 1;
    out.push({
      input: inputAt(a.inputs, a.row[i]!),
      classCode: a.cls[i] === NONE ? null : a.classes[a.cls[i]!]!,
      p: priced ? a.p[i]! : null,
      f: priced ? a.f[i]! : null,
      q: priced ? a.q[i]! : null,
      w: priced ? a.w[i]! : null,
      wCapped: a.capped[i] === 1 ? a.wCapped[i]! : null,
      reason: reasonOf(a.reason[i]!),
    });
  }
  return out;
}
