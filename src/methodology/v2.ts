// Methodology v2 as pure functions: observations in, fixings with their audit rows out. No database, clock or
// randomness. Step numbers refer to "Version 2" in methodology/METHODOLOGY.md. Built only on the shared pieces
// (types.ts, columns.ts, shared.ts, quantile.ts, series.ts): v1's engine (fixing.ts) is never imported. Inputs and
// audit rows are columns; every loop and sum runs in canonical input order (index order) unless it says otherwise.
import { AuditColumns, fetchedAtOf, INCLUDED, inputColumns, NONE, reasonCode, sameSnapshot, stringId, type ObservationColumns } from './columns.js';
import type { GpuClass, Methodology } from './params.js';
import { quantileOf } from './quantile.js';
import { parameterHash } from './params.js';
import { COMPUTE_SERIES, seriesCatalog, type SeriesSpec } from './series.js';
import {
  capSharesInOrder,
  capVenueShares as capShares,
  classLookup,
  countExcluded,
  DAY_MS,
  distinct,
  includedPositions,
  inputDigest,
  inputWindow,
  inReferenceUnits,
  isoDate,
  priceNormalizer,
  representedSeconds,
  roundPrice,
  rowsIn,
  survivorsOnly,
  weightedItems,
  type Survivors,
} from './shared.js';
import type { FixingEvidence, FixingRecord, FixingRequest, FixingResult, FixingStatus, HistoryPoint, PreviousValue } from './types.js';

interface V2Parameters {
  host_cap: number;
  fence_floor_ln: number;
  partition_seconds: number;
  min_partition_share: number;
  partition_trim: number;
  min_snapshots_seen: number;
  max_carry_days: number;
  coverage_days: number;
  degraded_share: number;
  memory_tolerance: number;
}

/** The v2 parameters, which the schema makes optional (v1 documents lack them); a v2 document must hold them all. */
function v2Parameters(m: Methodology): V2Parameters {
  const p = m.parameters;
  const need = <T>(v: T | undefined, name: string): T => {
    if (v === undefined) throw new Error(`methodology ${m.version}: parameter ${name} is required by the v2 calculation`);
    return v;
  };
  return {
    host_cap: need(p.host_cap, 'host_cap'),
    fence_floor_ln: need(p.fence_floor_ln, 'fence_floor_ln'),
    partition_seconds: need(p.partition_seconds, 'partition_seconds'),
    min_partition_share: need(p.min_partition_share, 'min_partition_share'),
    partition_trim: need(p.partition_trim, 'partition_trim'),
    min_snapshots_seen: need(p.min_snapshots_seen, 'min_snapshots_seen'),
    max_carry_days: need(p.max_carry_days, 'max_carry_days'),
    coverage_days: need(p.coverage_days, 'coverage_days'),
    degraded_share: need(p.degraded_share, 'degraded_share'),
    memory_tolerance: need(p.memory_tolerance, 'memory_tolerance'),
  };
}

type Classified = { code: string; reason: null } | { code: null; reason: 'unmapped_gpu' | 'memory_ambiguous' | 'memory_mismatch' };

/**
 * V2-1: the class of a raw name and the memory per GPU the venue reports. The name is looked up as in version 1
 * (the venue's aliases, then "*", then class codes), but a name may belong to several classes of different
 * memory (Vast.ai's "A100 SXM4" is a 40 GB and an 80 GB part). Of the classes the name belongs to, those whose
 * memory is within `memory_tolerance` (relative) of the reported memory remain; the nearest applies, the first in
 * class order on a tie. Without reported memory a name of one class is that class, and a name of several is
 * `memory_ambiguous`; a reported memory no class of the name is near is `memory_mismatch` (an unlisted variant).
 */
export function memoryClassifier(m: Methodology, tolerance: number): (venue: string, raw: string, memoryGb: number | null | undefined) => Classified {
  const lookup = classLookup(m);
  return (venue, raw, memoryGb) => {
    const classes = lookup(venue, raw);
    if (classes === null) return { code: null, reason: 'unmapped_gpu' };
    if (memoryGb == null) return classes.length === 1 ? { code: classes[0]!.code, reason: null } : { code: null, reason: 'memory_ambiguous' };
    let best: GpuClass | null = null;
    let bestDistance = Infinity;
    for (const c of classes) {
      const distance = Math.abs(memoryGb - c.memory_gb) / c.memory_gb;
      if (distance <= tolerance && distance < bestDistance) {
        best = c;
        bestDistance = distance;
      }
    }
    return best ? { code: best.code, reason: null } : { code: null, reason: 'memory_mismatch' };
  };
}

const VENUE_NOT_ADMITTED = reasonCode('venue_not_admitted');
const PROVENANCE_MISMATCH = reasonCode('provenance_mismatch');
const DUPLICATE = reasonCode('duplicate');
const NOT_PERSISTENT = reasonCode('not_persistent');
const BID_ABOVE_ASK = reasonCode('bid_above_ask');
const NOT_AVAILABLE = reasonCode('not_available');
const WRONG_CONTRACT = reasonCode('wrong_contract');
const INVALID_PRICE = reasonCode('invalid_price');
const PRICE_OUT_OF_BAND = reasonCode('price_out_of_band');
const OUTLIER = reasonCode('outlier');
const LIST_PRICE_UNWEIGHTED = reasonCode('list_price_unweighted');
const UNMAPPED_GPU = reasonCode('unmapped_gpu');

/**
 * A window's inputs, prepared: per position in `rows` (the window's input rows, ascending), the step 1-2
 * exclusion that holds for every series (admission, provenance, duplicate, persistence, bid above ask), why it has
 * no class (V2-1) when it has none, the seconds it represents, its tier (1: a reported quantity on a marketplace;
 * 2: an assumed one on a list price) and the share of its GPU count that is its own (V2-3).
 */
interface Window {
  from: number;
  to: number;
  /** The observations `rows` index (the day's alone, or the whole extended window's). */
  inputs: ObservationColumns;
  rows: Uint32Array;
  /** Positions in `rows` of each class's inputs (null: no class), ascending. */
  byClass: Map<string | null, Uint32Array>;
  reason: Uint8Array;
  classReason: Uint8Array;
  /** Per snapshot entry of the window (not per position): the seconds it represents. */
  seconds: Float64Array;
  tier: Uint8Array;
  overlap: Float64Array;
  admitted: number;
}

/** V2-1 for input rows, looked up once per distinct venue, raw name and reported memory. */
function rowClassifier(c: ObservationColumns, classify: ReturnType<typeof memoryClassifier>): (row: number) => Classified {
  const width = c.strings.length;
  const classOf = new Map<number, Map<number | null, Classified>>();
  return (r) => {
    const key = c.venue[r]! * width + c.gpuRaw[r]!;
    let byMemory = classOf.get(key);
    if (!byMemory) classOf.set(key, (byMemory = new Map()));
    const memory = c.hasMemory[r] === 1 ? c.memoryGb[r]! : null;
    let cls = byMemory.get(memory);
    if (cls === undefined) byMemory.set(memory, (cls = classify(c.strings[c.venue[r]!]!, c.strings[c.gpuRaw[r]!]!, memory)));
    return cls;
  };
}

/** Steps 1 to 3 and the time weights, for one window. */
function prepareWindow(
  m: Methodology,
  p: V2Parameters,
  date: string,
  from: number,
  to: number,
  req: FixingRequest,
  c: ObservationColumns,
  classify: ReturnType<typeof memoryClassifier>,
): Window {
  const venues = m.venues ?? {};
  const admissions = new Map<number, NonNullable<Methodology['venues']>[string] | undefined>();
  const admittedOn = (venue: number) => {
    if (!admissions.has(venue)) {
      const a = venues[c.strings[venue]!];
      admissions.set(venue, a !== undefined && a.admitted_from <= date ? a : undefined);
    }
    return admissions.get(venue);
  };
  const rows = rowsIn(c, from, to);
  const n = rows.length;
  // Time weights as in v1 step 5.
  const seconds = representedSeconds(m, from, to, req.snapshots, c, rows);
  const width = c.strings.length;
  // V2-2: persistence, counted over distinct snapshot instants of the listing's venue in W. In canonical order a
  // listing's instants come in ascending order, so a new instant is one that differs from the last one counted.
  const instantsOf = new Map<number, number>();
  const lastOf = new Map<number, number>();
  for (const r of rows) {
    const key = c.venue[r]! * width + c.listingId[r]!;
    const t = fetchedAtOf(c, r);
    if (lastOf.get(key) !== t) {
      instantsOf.set(key, (instantsOf.get(key) ?? 0) + 1);
      lastOf.set(key, t);
    }
  }
  lastOf.clear();
  const bidSuffix = '/bid';
  const baseIds = new Map<number, string>();
  const baseId = (listing: number) => {
    let id = baseIds.get(listing);
    if (id === undefined) {
      const s = c.strings[listing]!;
      baseIds.set(listing, (id = s.endsWith(bidSuffix) ? s.slice(0, -bidSuffix.length) : s));
    }
    return id;
  };
  const onDemand = c.strings.indexOf('on_demand');
  const interruptible = c.strings.indexOf('interruptible');
  const classify1 = rowClassifier(c, classify);
  const admittedSource = (admission: NonNullable<Methodology['venues']>[string], source: number) =>
    source !== NONE && (admission.sources as readonly string[]).includes(c.strings[source]!);
  const reason = new Uint8Array(n);
  const classReason = new Uint8Array(n);
  const tier = new Uint8Array(n);
  const overlap = new Float64Array(n).fill(1);
  const byClass = new Map<string | null, number[]>();
  // Each snapshot's inputs are contiguous: the per-snapshot rules (duplicates, bids against asks, overlapping
  // offers of one machine) are judged one snapshot at a time, with small maps.
  for (let start = 0; start < n; ) {
    const head = rows[start]!;
    let end = start + 1;
    while (end < n && sameSnapshot(c, rows[end]!, head)) end++;
    // V2-2: the on-demand price of each offer, to judge its bid by.
    const ask = new Map<string, number>();
    for (let k = start; k < end; k++) {
      const r = rows[k]!;
      if (c.contract[r] === onDemand && c.gpuCount[r]! > 0) ask.set(baseId(c.listingId[r]!), c.price[r]! / c.gpuCount[r]!);
    }
    const seen = new Set<number>();
    for (let k = start; k < end; k++) {
      const r = rows[k]!;
      const admission = admittedOn(c.venue[r]!);
      let why = INCLUDED;
      if (!admission) why = VENUE_NOT_ADMITTED;
      else if (!admittedSource(admission, c.snapshots.source[c.snapshot[r]!]!)) why = PROVENANCE_MISMATCH;
      else if (seen.has(c.listingId[r]!)) why = DUPLICATE;
      else if (instantsOf.get(c.venue[r]! * width + c.listingId[r]!)! < p.min_snapshots_seen) why = NOT_PERSISTENT;
      else if (c.contract[r] === interruptible && c.gpuCount[r]! > 0) {
        const ask1 = ask.get(baseId(c.listingId[r]!));
        if (ask1 !== undefined && c.price[r]! / c.gpuCount[r]! > ask1) why = BID_ABOVE_ASK;
      }
      seen.add(c.listingId[r]!);
      reason[k] = why;
      tier[k] = admission?.segment === 'marketplace' && c.quantityReported[r] === 1 ? 1 : 2;
      const cls = classify1(r);
      if (cls.reason !== null) classReason[k] = reasonCode(cls.reason);
      let list = byClass.get(cls.code);
      if (!list) byClass.set(cls.code, (list = []));
      list.push(k);
    }
    // V2-3: offers of one machine listed in the same snapshot (and contract) overlap: together they count the
    // machine's GPUs once, as many as its largest offer, each offer in proportion to its own GPU count.
    const counted = (k: number) => {
      const r = rows[k]!;
      return (
        c.machineId[r] !== NONE &&
        reason[k] !== VENUE_NOT_ADMITTED &&
        reason[k] !== PROVENANCE_MISMATCH &&
        reason[k] !== DUPLICATE &&
        Number.isInteger(c.gpuCount[r]!) &&
        c.gpuCount[r]! >= 1
      );
    };
    const machineKey = (k: number) => c.contract[rows[k]!]! * width + c.machineId[rows[k]!]!;
    const machines = new Map<number, { sum: number; max: number }>();
    for (let k = start; k < end; k++) {
      if (!counted(k)) continue;
      const count = c.gpuCount[rows[k]!]!;
      const m1 = machines.get(machineKey(k)) ?? { sum: 0, max: 0 };
      machines.set(machineKey(k), { sum: m1.sum + count, max: Math.max(m1.max, count) });
    }
    for (let k = start; k < end; k++) {
      if (!counted(k)) continue;
      const m1 = machines.get(machineKey(k))!;
      overlap[k] = m1.max / m1.sum;
    }
    start = end;
  }
  const admitted = Object.values(venues).filter((a) => a.admitted_from <= date).length;
  return {
    from,
    to,
    inputs: c,
    rows,
    byClass: new Map([...byClass].map(([code, list]) => [code, Uint32Array.from(list)])),
    reason,
    classReason,
    seconds,
    tier,
    overlap,
    admitted,
  };
}

interface Evaluation extends Survivors {
  /** Positions of the tier-2 (list price) inputs that passed every rule but the weighting one. */
  listPrices: Uint32Array;
  fence: FixingEvidence['fence'];
}

/** Steps 4 to 6 for one class and contract on one window. */
function evaluateClass(
  m: Methodology,
  p: V2Parameters,
  classCodes: readonly string[],
  cls: GpuClass,
  contractName: SeriesSpec['contract'],
  win: Window,
): Evaluation {
  const { price_band: band, outlier_k: k } = m.parameters;
  const c = win.inputs;
  const contract = stringId(c, contractName);
  const positions = win.byClass.get(cls.code) ?? new Uint32Array(0);
  const a = new AuditColumns(c, classCodes, positions.length);
  const classIndex = classCodes.indexOf(cls.code);
  const normalize = priceNormalizer(m, cls, c);
  const listTier = new Uint8Array(positions.length);
  for (let j = 0; j < positions.length; j++) {
    const at = positions[j]!;
    const r = win.rows[at]!;
    a.row[j] = r;
    a.cls[j] = classIndex;
    let reason = win.reason[at]!;
    a.reason[j] = reason;
    if (reason !== INCLUDED && reason !== NOT_PERSISTENT && reason !== BID_ABOVE_ASK) continue;
    const price = c.price[r]!;
    const count = c.gpuCount[r]!;
    if (reason === INCLUDED && c.available[r] !== 1) reason = NOT_AVAILABLE;
    else if (reason === INCLUDED && c.contract[r] !== contract) reason = WRONG_CONTRACT;
    if (!Number.isFinite(price) || price <= 0 || !Number.isInteger(count) || count < 1) {
      a.reason[j] = reason === INCLUDED ? INVALID_PRICE : reason;
      continue;
    }
    normalize(r, a, j);
    a.w[j] = ((count * win.seconds[c.snapshot[r]!]!) / 3600) * win.overlap[at]!;
    if (reason === INCLUDED && (a.p[j]! < band[0] || a.p[j]! > band[1])) reason = PRICE_OUT_OF_BAND;
    if (reason === INCLUDED && win.tier[at] === 2) listTier[j] = 1;
    a.reason[j] = reason;
  }
  // Step 6: the fence, centred on the median of the venues' medians of ln q, so no venue defines it alone.
  // A centre needs at least min_venues venues: one venue alone never sets a fence (nor could it be sufficient).
  const byVenue = new Map<string, number[]>();
  for (let j = 0; j < a.length; j++) {
    if (a.reason[j] !== INCLUDED || listTier[j] === 1) continue;
    const venue = c.strings[c.venue[a.row[j]!]!]!;
    let list = byVenue.get(venue);
    if (!list) byVenue.set(venue, (list = []));
    list.push(j);
  }
  let fence: FixingEvidence['fence'] = null;
  if (byVenue.size >= m.parameters.min_venues) {
    const venueMedians = [...byVenue.keys()].sort().map((venue) => ({
      venue,
      median: quantileOf(
        weightedItems(
          a,
          Uint32Array.from(byVenue.get(venue)!),
          (j) => Math.log(a.q[j]!),
          (j) => a.w[j]!,
        ),
        0.5,
      ),
    }));
    const centre = lowerMedian(venueMedians.map((v) => v.median));
    const mad = lowerMedian(venueMedians.map((v) => Math.abs(v.median - centre)));
    const dispersion = Math.max(1.4826 * mad, p.fence_floor_ln);
    const half = k * dispersion;
    fence = { venue_medians: venueMedians, centre, dispersion, lower: Math.exp(centre - half), upper: Math.exp(centre + half) };
    for (const list of byVenue.values()) for (const j of list) if (Math.abs(Math.log(a.q[j]!) - centre) > half) a.reason[j] = OUTLIER;
  }
  // Step 5: list prices (assumed quantities) never carry volume weight in the weighted value.
  const listPrices: number[] = [];
  for (let j = 0; j < a.length; j++) {
    if (listTier[j] !== 1) continue;
    if (fence && Math.abs(Math.log(a.q[j]!) - fence.centre) > k * fence.dispersion) a.reason[j] = OUTLIER;
    else {
      a.reason[j] = LIST_PRICE_UNWEIGHTED;
      listPrices.push(j);
    }
  }
  return { audit: a, positions: includedPositions(a), listPrices: Uint32Array.from(listPrices), fence };
}

/** The lower median of plain numbers: sorted ascending, the value at index ⌈n/2⌉ − 1. */
function lowerMedian(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1]!;
}

interface Partition {
  from: number;
  /** Positions in the attempt's audit, ascending. */
  positions: number[];
  value: number | null;
  listings: number;
  venues: number;
}

/**
 * Keys for the hosts of V2-5: each input's venue and host (its host id, or "listing:" and its listing id when the
 * venue gives none), numbered so that one host is one number, and sorted as the text "venue NUL host" sorts.
 */
function hostKeys(c: ObservationColumns) {
  const hostNames: string[] = [];
  const idOfName = new Map<string, number>();
  const nameId = (name: string) => {
    let id = idOfName.get(name);
    if (id === undefined) {
      id = hostNames.length;
      hostNames.push(name);
      idOfName.set(name, id);
    }
    return id;
  };
  const ofHost = new Int32Array(c.strings.length).fill(-1);
  const ofListing = new Int32Array(c.strings.length).fill(-1);
  const width = c.strings.length * 2 + 1;
  return {
    /** The input row's host, as a number. */
    of(row: number): number {
      const host = c.hostId[row]!;
      let id: number;
      if (host !== NONE) {
        if (ofHost[host] === -1) ofHost[host] = nameId(c.strings[host]!);
        id = ofHost[host]!;
      } else {
        const listing = c.listingId[row]!;
        if (ofListing[listing] === -1) ofListing[listing] = nameId(`listing:${c.strings[listing]!}`);
        id = ofListing[listing]!;
      }
      return c.venue[row]! * width + id;
    },
    /** Hosts in the order of their "venue NUL host" text (venue names hold no NUL, so venue first, then host). */
    sort(keys: number[]): number[] {
      return keys.sort((x, y) => {
        const vx = Math.floor(x / width);
        const vy = Math.floor(y / width);
        if (vx !== vy) return c.rank[vx]! - c.rank[vy]!;
        const hx = hostNames[x % width]!;
        const hy = hostNames[y % width]!;
        return hx < hy ? -1 : hx > hy ? 1 : 0;
      });
    },
  };
}

const hostKeyCache = new WeakMap<ObservationColumns, ReturnType<typeof hostKeys>>();
/** The host keys of a set of columns, made once for them. */
function hostKeysOf(c: ObservationColumns): ReturnType<typeof hostKeys> {
  let keys = hostKeyCache.get(c);
  if (!keys) hostKeyCache.set(c, (keys = hostKeys(c)));
  return keys;
}

/** Steps 7 and 8: hourly partitions, each with host and venue caps and its weighted median; which are sufficient. */
function partitionValues(m: Methodology, p: V2Parameters, win: Window, s: Survivors): Partition[] {
  const a = s.audit;
  const c = a.inputs;
  const hosts = hostKeysOf(c);
  const parts: Partition[] = [];
  for (let t = win.from; t < win.to; t += p.partition_seconds * 1000) parts.push({ from: t, positions: [], value: null, listings: 0, venues: 0 });
  for (const k of s.positions) parts[Math.floor((fetchedAtOf(c, a.row[k]!) - win.from) / (p.partition_seconds * 1000))]!.positions.push(k);
  for (const part of parts) {
    const positions = Uint32Array.from(part.positions);
    const counts = distinct(a, positions);
    part.listings = counts.listings;
    part.venues = counts.venues;
    if (part.listings < m.parameters.min_listings || part.venues < m.parameters.min_venues) continue;
    // Host cap, then venue cap, each by the v1 capping rule; w' is the partition's share after both (sums to 1).
    const byHost = new Map<number, number>();
    for (const k of positions) {
      const h = hosts.of(a.row[k]!);
      byHost.set(h, (byHost.get(h) ?? 0) + a.w[k]!);
    }
    const hostOrder = hosts.sort([...byHost.keys()]);
    const hostShares = sharesInOrder(hostOrder, byHost);
    const hostCapped = capSharesInOrder(hostOrder, hostShares, p.host_cap).capped;
    const afterHost = new Float64Array(positions.length);
    const byVenue = new Map<string, number>();
    positions.forEach((k, j) => {
      const h = hosts.of(a.row[k]!);
      afterHost[j] = (a.w[k]! / byHost.get(h)!) * hostCapped.get(h)!;
      const venue = c.strings[c.venue[a.row[k]!]!]!;
      byVenue.set(venue, (byVenue.get(venue) ?? 0) + afterHost[j]!);
    });
    const venueCapped = capShares(byVenue, m.parameters.venue_cap).capped;
    positions.forEach((k, j) => {
      const venue = c.strings[c.venue[a.row[k]!]!]!;
      a.wCapped[k] = (afterHost[j]! / byVenue.get(venue)!) * venueCapped.get(venue)!;
      a.capped[k] = 1;
    });
    part.value = quantileOf(
      weightedItems(
        a,
        positions,
        (k) => a.q[k]!,
        (k) => a.wCapped[k]!,
      ),
      0.5,
    );
  }
  return parts;
}

/** Each key's share of the total, keys in the given order (the order shares are summed in). */
function sharesInOrder<K>(keys: readonly K[], sums: ReadonlyMap<K, number>): Map<K, number> {
  let total = 0;
  for (const k of keys) total += sums.get(k)!;
  return new Map(keys.map((k) => [k, sums.get(k)! / total]));
}

/** Each name's share of the total, names in sorted order. */
function shares(sums: ReadonlyMap<string, number>): Map<string, number> {
  return sharesInOrder([...sums.keys()].sort(), sums);
}

interface Attempt extends Survivors {
  win: Window;
  listPrices: Uint32Array;
  fence: FixingEvidence['fence'];
  parts: Partition[] | null;
}

const sufficientParts = (parts: readonly Partition[]) => parts.filter((x) => x.value !== null);
const enoughParts = (p: V2Parameters, parts: readonly Partition[]) => sufficientParts(parts).length >= Math.ceil(p.min_partition_share * parts.length);

/** V2-9: today's volume against the trailing mean, and the venues that usually carry a large share but are missing. */
function againstHistory(
  p: V2Parameters,
  history: readonly HistoryPoint[],
  volume: number,
  present: ReadonlySet<string>,
): { ratio: number | null; missing: string[] } {
  if (history.length === 0) return { ratio: null, missing: [] };
  let sum = 0;
  for (const h of history) sum += h.volume;
  const mean = sum / history.length;
  const shares = new Map<string, number>();
  for (const h of history) for (const v of Object.keys(h.venue_shares).sort()) shares.set(v, (shares.get(v) ?? 0) + h.venue_shares[v]!);
  const missing = [...shares.keys()].sort().filter((v) => shares.get(v)! / history.length >= p.degraded_share && !present.has(v));
  return { ratio: mean > 0 ? volume / mean : null, missing };
}

function buildResult(
  m: Methodology,
  p: V2Parameters,
  spec: SeriesSpec,
  date: string,
  status: FixingStatus,
  at: Attempt,
  previous: PreviousValue | undefined,
  history: readonly HistoryPoint[],
): FixingResult {
  const d = m.parameters.decimals;
  const a = at.audit;
  const c = a.inputs;
  const venueOf = (k: number) => c.strings[c.venue[a.row[k]!]!]!;
  const parts = at.parts ?? [];
  const used = status === 'normal' || status === 'extended_window' ? sufficientParts(parts) : [];
  // The used partitions' inputs, partition after partition (each in canonical order).
  const usedPositions = used.flatMap((part) => part.positions);
  // Step 8: the value is the trimmed mean of the sufficient partitions' values: sorted ascending, the lowest and
  // highest ⌊trim × n⌋ dropped, the rest summed in ascending order and divided by their count.
  let value: number | null = null;
  let stats: Pick<FixingRecord, 'vwap' | 'percentiles' | 'min' | 'max'> = { vwap: null, percentiles: null, min: null, max: null };
  if (used.length > 0) {
    const sorted = used.map((part) => part.value!).sort((x, y) => x - y);
    const cut = Math.floor(p.partition_trim * sorted.length);
    const kept = sorted.slice(cut, sorted.length - cut);
    let sum = 0;
    for (const v of kept) sum += v;
    value = roundPrice(sum / kept.length, d);
    // Statistics pool the used partitions, each partition's weights summing to 1 (so each hour counts alike).
    const pooled = weightedItems(
      a,
      Uint32Array.from(usedPositions),
      (k) => a.q[k]!,
      (k) => a.wCapped[k]!,
    );
    let sumW = 0;
    let sumWq = 0;
    for (const i of pooled.order) {
      sumW += pooled.weights[i]!;
      sumWq += pooled.weights[i]! * pooled.values[i]!;
    }
    const percentiles: Record<string, number> = {};
    for (const phi of m.parameters.percentiles) percentiles[`p${Math.round(phi * 100)}`] = roundPrice(quantileOf(pooled, phi), d);
    const first = pooled.values[pooled.order[0]!]!;
    const last = pooled.values[pooled.order[pooled.order.length - 1]!]!;
    stats = { vwap: roundPrice(sumWq / sumW, d), percentiles, min: roundPrice(first, d), max: roundPrice(last, d) };
  } else if (status === 'list_price_tier') {
    value = roundPrice(listPriceValue(a, at.listPrices), d);
  } else if (status === 'carried_forward') value = previous!.value;
  // Inputs of partitions not used carry no w'.
  const usedSet = new Uint8Array(a.length);
  for (const k of usedPositions) usedSet[k] = 1;
  for (const k of at.positions) if (usedSet[k] !== 1) a.capped[k] = 0;
  const included = status === 'list_price_tier' ? Array.from(at.listPrices) : usedPositions;
  let volume = 0;
  for (const k of Uint32Array.from(included).sort()) volume += a.w[k]!;
  const presentVenues = new Set(included.map(venueOf));
  const trailing = againstHistory(p, history, roundPrice(volume, d), presentVenues);
  const counts = distinct(a, Uint32Array.from(included));
  const record: FixingRecord = {
    series: spec.code,
    date,
    status,
    unit: spec.unit,
    value,
    ...stats,
    listings: counts.listings,
    venues: counts.venues,
    observations_included: included.length,
    volume: roundPrice(volume, d),
    excluded: countExcluded(a),
    carried_from: status === 'carried_forward' ? previous!.date : null,
    window: { from: isoDate(at.win.from), to: isoDate(at.win.to) },
    methodology_version: m.version,
    parameter_hash: parameterHash(m),
    input_digest: inputDigest(a, { memory: true }),
    coverage: {
      venues_present: presentVenues.size,
      venues_admitted: at.win.admitted,
      partitions_sufficient: sufficientParts(parts).length,
      partitions: parts.length,
      volume_vs_trailing_mean: trailing.ratio === null ? null : roundPrice(trailing.ratio, d),
      trailing_days: history.length,
    },
    degraded: trailing.missing.length > 0,
    missing_venues: trailing.missing,
  };
  // Venue weights and capped shares summed in the order of `included` (partition after partition).
  const venueWeights = new Map<string, number>();
  const cappedByVenue = new Map<string, number>();
  for (const k of included) {
    const venue = venueOf(k);
    venueWeights.set(venue, (venueWeights.get(venue) ?? 0) + a.w[k]!);
    if (a.capped[k] === 1) cappedByVenue.set(venue, (cappedByVenue.get(venue) ?? 0) + a.wCapped[k]! / used.length);
  }
  const venueShares = [...shares(venueWeights)].map(([venue, share]) => ({ venue, share, capped_share: cappedByVenue.get(venue) ?? 0 }));
  return {
    record,
    evidence: {
      venue_shares: status === 'list_price_tier' || used.length > 0 ? venueShares : [],
      venue_cap: used.length > 0 ? m.parameters.venue_cap : null,
      outlier: null,
      fence: at.fence,
      partitions: parts.map((x) => ({
        from: new Date(x.from).toISOString(),
        value: x.value === null ? null : roundPrice(x.value, d),
        listings: x.listings,
        venues: x.venues,
      })),
    },
    audit: a,
  };
}

/** Step 10's lower tier: the lower median of the list-price venues' lower medians of q (no volume weight at all). */
function listPriceValue(a: AuditColumns, positions: Uint32Array): number {
  const c = a.inputs;
  const byVenue = new Map<string, number[]>();
  for (const k of positions) {
    const venue = c.strings[c.venue[a.row[k]!]!]!;
    let list = byVenue.get(venue);
    if (!list) byVenue.set(venue, (list = []));
    list.push(a.q[k]!);
  }
  return lowerMedian([...byVenue.keys()].sort().map((v) => lowerMedian(byVenue.get(v)!)));
}

/** Steps 9 and 10: the fallbacks, in order. */
function decide(
  m: Methodology,
  p: V2Parameters,
  spec: SeriesSpec,
  date: string,
  day: Attempt,
  extended: () => Attempt,
  previous: PreviousValue | undefined,
  history: readonly HistoryPoint[],
): FixingResult {
  if (enoughParts(p, day.parts!)) return buildResult(m, p, spec, date, 'normal', day, previous, history);
  const ext = extended();
  if (enoughParts(p, ext.parts!)) return buildResult(m, p, spec, date, 'extended_window', ext, previous, history);
  const listVenues = new Set<number>();
  for (const k of day.listPrices) listVenues.add(day.audit.inputs.venue[day.audit.row[k]!]!);
  if (listVenues.size >= m.parameters.min_venues) return buildResult(m, p, spec, date, 'list_price_tier', day, previous, history);
  const carryable = previous !== undefined && Date.parse(`${date}T00:00:00Z`) - Date.parse(`${previous.date}T00:00:00Z`) <= p.max_carry_days * DAY_MS;
  return buildResult(m, p, spec, date, carryable ? 'carried_forward' : 'insufficient', day, carryable ? previous : undefined, history);
}

/** GPUIDX-COMPUTE: the on-demand tier-1 survivors of every class, in reference-class-equivalent units, partitioned alike. */
function computeAudit(m: Methodology, classCodes: readonly string[], win: Window, perClass: Map<string, Evaluation>): AuditColumns {
  const classless = win.byClass.get(null) ?? new Uint32Array(0);
  const rows = new Uint32Array(classless.length);
  const reasons = new Uint8Array(classless.length);
  classless.forEach((at, j) => {
    rows[j] = win.rows[at]!;
    reasons[j] = win.reason[at] || win.classReason[at] || UNMAPPED_GPU;
  });
  return inReferenceUnits(m, win.inputs, classCodes, (code) => perClass.get(code), { rows, reasons });
}

/** Computes the fixings of one date under methodology v2, one series at a time, in catalog order. */
export function* fixingsOfV2(req: FixingRequest): Generator<FixingResult> {
  const m = req.methodology;
  const p = v2Parameters(m);
  const c = inputColumns(req.observations);
  const { from: extFrom, to: dayEnd } = inputWindow(req.date, m);
  const classify = memoryClassifier(m, p.memory_tolerance);
  const classCodes = m.classes.map((x) => x.code);
  // The extended window's observations: the day's, or (when given apart) made on first need.
  let extInputs: ObservationColumns | null = req.extended ? null : c;
  const extColumns = () => (extInputs ??= inputColumns(req.extended!.observations()));
  const dayWin = prepareWindow(m, p, req.date, dayEnd - DAY_MS, dayEnd, req, c, classify);
  let extWin: Window | null = null;
  const ext = () => (extWin ??= prepareWindow(m, p, req.date, extFrom, dayEnd, req, extColumns(), classify));
  // A class with no input anywhere in the extended window has an empty evaluation there: it is made without preparing
  // the window, which reads every input of every day in it. (Only a class with inputs, or the composite, needs it.)
  let extClasses: Set<string | null> | null = null;
  const inExtendedWindow = (code: string) => {
    if (!extClasses) {
      extClasses = new Set();
      if (req.extended) for (const n of req.extended.names) extClasses.add(classify(n.venue, n.gpuRaw, n.gpuMemoryGb).code);
      else {
        const classOf = rowClassifier(c, classify);
        for (const r of rowsIn(c, extFrom, dayEnd)) extClasses.add(classOf(r).code);
      }
    }
    return extClasses.has(code);
  };
  const emptyExtended = (): Attempt => {
    const win: Window = {
      from: extFrom,
      to: dayEnd,
      inputs: c,
      rows: new Uint32Array(0),
      byClass: new Map(),
      reason: new Uint8Array(0),
      classReason: new Uint8Array(0),
      seconds: new Float64Array(0),
      tier: new Uint8Array(0),
      overlap: new Float64Array(0),
      admitted: dayWin.admitted,
    };
    const s = { audit: new AuditColumns(c, classCodes, 0), positions: new Uint32Array(0) };
    return { win, ...s, listPrices: new Uint32Array(0), fence: null, parts: partitionValues(m, p, win, s) };
  };
  const wanted = req.series ? new Set(req.series) : null;
  const classByCode = new Map(m.classes.map((x) => [x.code, x]));
  const onDemand = { day: new Map<string, Evaluation>(), ext: new Map<string, Evaluation>() };
  const evaluate = (x: GpuClass, contract: SeriesSpec['contract'], which: 'day' | 'ext'): Evaluation => {
    const win = which === 'day' ? dayWin : ext();
    if (contract !== 'on_demand') return evaluateClass(m, p, classCodes, x, contract, win);
    const cache = onDemand[which];
    let e = cache.get(x.code);
    if (!e) cache.set(x.code, (e = evaluateClass(m, p, classCodes, x, contract, win)));
    return e;
  };
  const attempt = (e: Evaluation, win: Window): Attempt => ({
    win,
    audit: e.audit,
    positions: e.positions,
    listPrices: e.listPrices,
    fence: e.fence,
    parts: partitionValues(m, p, win, e),
  });
  for (const spec of seriesCatalog(m).filter((s) => !wanted || wanted.has(s.code))) {
    const previous = req.previous.get(spec.code);
    const history = (req.history?.get(spec.code) ?? []).filter((h) => h.methodology_version === m.version);
    if (spec.classCode !== null) {
      const cls = classByCode.get(spec.classCode)!;
      yield decide(
        m,
        p,
        spec,
        req.date,
        attempt(evaluate(cls, spec.contract, 'day'), dayWin),
        () => (inExtendedWindow(cls.code) ? attempt(evaluate(cls, spec.contract, 'ext'), ext()) : emptyExtended()),
        previous,
        history,
      );
      // GPUIDX-COMPUTE needs only the survivors of the on-demand evaluations: let the other rows go once stored,
      // and, after the class's spot series, its prepared inputs of every window whose on-demand evaluation is kept.
      if (spec.contract === 'on_demand') {
        for (const cache of [onDemand.day, onDemand.ext]) {
          const e = cache.get(cls.code);
          if (e) cache.set(cls.code, { ...survivorsOnly(e), listPrices: new Uint32Array(0), fence: e.fence });
        }
      } else {
        if (onDemand.day.has(cls.code)) dayWin.byClass.delete(cls.code);
        if (extWin && onDemand.ext.has(cls.code)) (extWin as Window).byClass.delete(cls.code);
      }
    } else {
      const composite = (which: 'day' | 'ext'): Attempt => {
        for (const x of m.classes) evaluate(x, 'on_demand', which);
        const win = which === 'day' ? dayWin : ext();
        const audit = computeAudit(m, classCodes, win, onDemand[which]);
        const s = { audit, positions: includedPositions(audit) };
        return { win, ...s, listPrices: new Uint32Array(0), fence: null, parts: partitionValues(m, p, win, s) };
      };
      yield decide(m, p, spec, req.date, composite('day'), () => composite('ext'), previous, history);
    }
  }
}

export { COMPUTE_SERIES };
