// Methodology v2 as pure functions: observations in, fixings with their audit rows out. No database, clock or
// randomness. Step numbers refer to "Version 2" in methodology/METHODOLOGY.md. Built only on the shared pieces
// (types.ts, shared.ts, quantile.ts, series.ts): v1's engine (fixing.ts) is never imported.
import type { GpuClass, Methodology } from '../../../src/methodology/params.js';
import { quantileOf, weightedOrder } from './quantile.js';
import { parameterHash } from '../../../src/methodology/params.js';
import { COMPUTE_SERIES, seriesCatalog, type SeriesSpec } from '../../../src/methodology/series.js';
import {
  capVenueShares as capShares,
  classLookup,
  compareInputs,
  countExcluded,
  DAY_MS,
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
  FixingEvidence,
  FixingRecord,
  FixingRequest,
  FixingResult,
  FixingStatus,
  HistoryPoint,
  ObservationInput,
  PreviousValue,
} from './types.js';

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

/** A prepared input: its class, whether it repeats a listing of its snapshot, the seconds it represents. */
interface Prepared {
  input: ObservationInput;
  classCode: string | null;
  /** Why it has no class (V2-1), when it has none. */
  classReason: Classified['reason'];
  /** Step 1-2 exclusions that hold for every series (admission, provenance, duplicate, persistence, bid above ask). */
  reason: AuditRow['reason'];
  seconds: number;
  /** Whether its weight is a reported quantity (tier 1) or an assumed one on a list price (tier 2). */
  tier: 1 | 2;
  /** Share of its GPU count that is its own: below 1 when other offers of the same machine overlap it (V2-3). */
  overlap: number;
}

interface Window {
  from: number;
  to: number;
  byClass: Map<string | null, Prepared[]>;
  admitted: number;
}

const listingKey = (o: ObservationInput) => `${o.venue}\u0000${o.listingId}`;

/** Steps 1 to 3 and the time weights, for one window. */
function prepareWindow(
  m: Methodology,
  p: V2Parameters,
  date: string,
  from: number,
  to: number,
  req: FixingRequest,
  classify: ReturnType<typeof memoryClassifier>,
): Window {
  const venues = m.venues ?? {};
  const admittedOn = (venue: string) => {
    const a = venues[venue];
    return a !== undefined && a.admitted_from <= date ? a : undefined;
  };
  const inWindow = req.observations.filter((o) => o.fetchedAt >= from && o.fetchedAt < to).sort(compareInputs);
  // Time weights as in v1 step 5.
  const seconds = representedSeconds(m, from, to, req.snapshots, inWindow);
  // V2-2: persistence, counted over distinct snapshot instants of the listing's venue in W. In canonical order a
  // listing's instants come in ascending order, so a new instant is one that differs from the last one counted.
  const seenIn = new Map<string, { instants: number; last: number }>();
  const seenOf: { instants: number; last: number }[] = new Array(inWindow.length);
  for (let i = 0; i < inWindow.length; i++) {
    const o = inWindow[i]!;
    const key = listingKey(o);
    let seen = seenIn.get(key);
    if (!seen) seenIn.set(key, (seen = { instants: 0, last: Number.NaN }));
    if (seen.last !== o.fetchedAt) {
      seen.instants += 1;
      seen.last = o.fetchedAt;
    }
    seenOf[i] = seen;
  }
  seenIn.clear();
  // Inputs are in canonical order, so each snapshot's inputs are contiguous: the per-snapshot rules (duplicates,
  // bids against asks, overlapping offers of one machine) are judged one snapshot at a time, with small maps.
  const byClass = new Map<string | null, Prepared[]>();
  const sameSnapshot = (a: ObservationInput, b: ObservationInput) =>
    a.venue === b.venue && a.fetchedAt === b.fetchedAt && a.snapshotSha256 === b.snapshotSha256;
  const baseId = (o: ObservationInput) => (o.listingId.endsWith('/bid') ? o.listingId.slice(0, -4) : o.listingId);
  for (let start = 0; start < inWindow.length; ) {
    let end = start + 1;
    while (end < inWindow.length && sameSnapshot(inWindow[start]!, inWindow[end]!)) end++;
    const group = inWindow.slice(start, end);
    const groupStart = start;
    start = end;
    // One snapshot: one venue and instant, so one time weight.
    const groupSeconds = seconds.get(`${group[0]!.venue}\u0000${group[0]!.fetchedAt}`)!;
    // V2-2: the on-demand price of each offer, to judge its bid by.
    const ask = new Map<string, number>();
    for (const o of group) if (o.contract === 'on_demand' && o.gpuCount > 0) ask.set(baseId(o), o.priceUsdPerHour / o.gpuCount);
    const seen = new Set<string>();
    const prepared: Prepared[] = [];
    for (let g = 0; g < group.length; g++) {
      const input = group[g]!;
      const admission = admittedOn(input.venue);
      let reason: AuditRow['reason'] = null;
      if (!admission) reason = 'venue_not_admitted';
      else if (input.source === undefined || !admission.sources.includes(input.source)) reason = 'provenance_mismatch';
      else if (seen.has(input.listingId)) reason = 'duplicate';
      else if (seenOf[groupStart + g]!.instants < p.min_snapshots_seen) reason = 'not_persistent';
      else if (input.contract === 'interruptible' && input.gpuCount > 0) {
        const onDemand = ask.get(baseId(input));
        if (onDemand !== undefined && input.priceUsdPerHour / input.gpuCount > onDemand) reason = 'bid_above_ask';
      }
      seen.add(input.listingId);
      const tier = admission?.segment === 'marketplace' && input.quantityReported === true ? 1 : 2;
      const cls = classify(input.venue, input.gpuRaw, input.gpuMemoryGb);
      prepared.push({ input, classCode: cls.code, classReason: cls.reason, reason, seconds: groupSeconds, tier, overlap: 1 });
    }
    // V2-3: offers of one machine listed in the same snapshot (and contract) overlap: together they count the
    // machine's GPUs once, as many as its largest offer, each offer in proportion to its own GPU count.
    const machineKey = (pr: Prepared) => `${pr.input.contract}\u0000${pr.input.machineId}`;
    const counted = (pr: Prepared) =>
      pr.input.machineId != null &&
      pr.reason !== 'venue_not_admitted' &&
      pr.reason !== 'provenance_mismatch' &&
      pr.reason !== 'duplicate' &&
      Number.isInteger(pr.input.gpuCount) &&
      pr.input.gpuCount >= 1;
    const machines = new Map<string, { sum: number; max: number }>();
    for (const pr of prepared) {
      if (!counted(pr)) continue;
      const m = machines.get(machineKey(pr)) ?? { sum: 0, max: 0 };
      machines.set(machineKey(pr), { sum: m.sum + pr.input.gpuCount, max: Math.max(m.max, pr.input.gpuCount) });
    }
    for (const pr of prepared) {
      if (counted(pr)) {
        const m = machines.get(machineKey(pr))!;
        pr.overlap = m.max / m.sum;
      }
      let list = byClass.get(pr.classCode);
      if (!list) byClass.set(pr.classCode, (list = []));
      list.push(pr);
    }
  }
  const admitted = Object.values(venues).filter((a) => a.admitted_from <= date).length;
  return { from, to, byClass, admitted };
}

interface Evaluation {
  rows: AuditRow[];
  /** Tier-1 survivors of steps 1 to 6. */
  survivors: AuditRow[];
  /** Tier-2 (list price) inputs that passed every rule but the weighting one. */
  listPrices: AuditRow[];
  fence: FixingEvidence['fence'];
}

/** Steps 4 to 6 for one class and contract on one window. */
function evaluateClass(m: Methodology, p: V2Parameters, cls: GpuClass, contract: SeriesSpec['contract'], win: Window): Evaluation {
  const { price_band: band, outlier_k: k } = m.parameters;
  const rows: AuditRow[] = [];
  const tierOf = new Map<AuditRow, 1 | 2>();
  for (const pr of win.byClass.get(cls.code) ?? []) {
    const o = pr.input;
    const row: AuditRow = { input: o, classCode: cls.code, p: null, f: null, q: null, w: null, wCapped: null, reason: pr.reason };
    rows.push(row);
    if (row.reason !== null && row.reason !== 'not_persistent' && row.reason !== 'bid_above_ask') continue;
    if (row.reason === null && !o.available) row.reason = 'not_available';
    else if (row.reason === null && o.contract !== contract) row.reason = 'wrong_contract';
    if (!Number.isFinite(o.priceUsdPerHour) || o.priceUsdPerHour <= 0 || !Number.isInteger(o.gpuCount) || o.gpuCount < 1) {
      if (row.reason === null) row.reason = 'invalid_price';
      continue;
    }
    const { p: price, f, q } = normalizedPrice(m, cls, o);
    row.p = price;
    row.f = f;
    row.q = q;
    row.w = ((o.gpuCount * pr.seconds) / 3600) * pr.overlap;
    if (row.reason === null && (price < band[0] || price > band[1])) row.reason = 'price_out_of_band';
    if (row.reason === null && pr.tier === 2) tierOf.set(row, 2);
  }
  // Step 6: the fence, centred on the median of the venues' medians of ln q, so no venue defines it alone.
  // A centre needs at least min_venues venues: one venue alone never sets a fence (nor could it be sufficient).
  const candidates = rows.filter((r) => r.reason === null && !tierOf.has(r));
  const byVenue = new Map<string, AuditRow[]>();
  for (const r of candidates) {
    let list = byVenue.get(r.input.venue);
    if (!list) byVenue.set(r.input.venue, (list = []));
    list.push(r);
  }
  let fence: FixingEvidence['fence'] = null;
  if (byVenue.size >= m.parameters.min_venues) {
    const venueMedians = [...byVenue.keys()].sort().map((venue) => {
      return {
        venue,
        median: quantileOf(
          weightedOrder(
            byVenue.get(venue)!,
            (r) => Math.log(r.q!),
            (r) => r.w!,
          ),
          0.5,
        ),
      };
    });
    const centre = lowerMedian(venueMedians.map((v) => v.median));
    const mad = lowerMedian(venueMedians.map((v) => Math.abs(v.median - centre)));
    const dispersion = Math.max(1.4826 * mad, p.fence_floor_ln);
    const half = k * dispersion;
    fence = { venue_medians: venueMedians, centre, dispersion, lower: Math.exp(centre - half), upper: Math.exp(centre + half) };
    for (const r of candidates) if (Math.abs(Math.log(r.q!) - centre) > half) r.reason = 'outlier';
  }
  // Step 5: list prices (assumed quantities) never carry volume weight in the weighted value.
  const listPrices: AuditRow[] = [];
  for (const [r] of tierOf) {
    if (fence && Math.abs(Math.log(r.q!) - fence.centre) > k * fence.dispersion) r.reason = 'outlier';
    else {
      r.reason = 'list_price_unweighted';
      listPrices.push(r);
    }
  }
  return { rows, survivors: rows.filter((r) => r.reason === null), listPrices, fence };
}

/** The lower median of plain numbers: sorted ascending, the value at index ⌈n/2⌉ − 1. */
function lowerMedian(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1]!;
}

interface Partition {
  from: number;
  rows: AuditRow[];
  value: number | null;
  listings: number;
  venues: number;
}

/** Steps 7 and 8: hourly partitions, each with host and venue caps and its weighted median; which are sufficient. */
function partitionValues(m: Methodology, p: V2Parameters, win: Window, survivors: readonly AuditRow[]): Partition[] {
  const parts: Partition[] = [];
  for (let t = win.from; t < win.to; t += p.partition_seconds * 1000) parts.push({ from: t, rows: [], value: null, listings: 0, venues: 0 });
  for (const r of survivors) parts[Math.floor((r.input.fetchedAt - win.from) / (p.partition_seconds * 1000))]!.rows.push(r);
  for (const part of parts) {
    part.listings = new Set(part.rows.map((r) => listingKey(r.input))).size;
    part.venues = new Set(part.rows.map((r) => r.input.venue)).size;
    if (part.listings < m.parameters.min_listings || part.venues < m.parameters.min_venues) continue;
    // Host cap, then venue cap, each by the v1 capping rule; w' is the partition's share after both (sums to 1).
    const hostOf = (r: AuditRow) => `${r.input.venue}\u0000${r.input.hostId ?? `listing:${r.input.listingId}`}`;
    const byHost = sumBy(part.rows, hostOf);
    const hostShares = shares(byHost);
    const hostCapped = capShares(hostShares, p.host_cap).capped;
    const afterHost = new Map(part.rows.map((r) => [r, (r.w! / byHost.get(hostOf(r))!) * hostCapped.get(hostOf(r))!]));
    const byVenue = new Map<string, number>();
    for (const r of part.rows) byVenue.set(r.input.venue, (byVenue.get(r.input.venue) ?? 0) + afterHost.get(r)!);
    const venueCapped = capShares(byVenue, m.parameters.venue_cap).capped;
    for (const r of part.rows) r.wCapped = (afterHost.get(r)! / byVenue.get(r.input.venue)!) * venueCapped.get(r.input.venue)!;
    part.value = quantileOf(
      weightedOrder(
        part.rows,
        (r) => r.q!,
        (r) => r.wCapped!,
      ),
      0.5,
    );
  }
  return parts;
}

function sumBy(rows: readonly AuditRow[], key: (r: AuditRow) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) out.set(key(r), (out.get(key(r)) ?? 0) + r.w!);
  return out;
}

/** Each key's share of the total, keys in name order (the order shares are summed in). */
function shares(sums: ReadonlyMap<string, number>): Map<string, number> {
  const keys = [...sums.keys()].sort();
  let total = 0;
  for (const k of keys) total += sums.get(k)!;
  return new Map(keys.map((k) => [k, sums.get(k)! / total]));
}

interface Attempt {
  win: Window;
  rows: AuditRow[];
  survivors: AuditRow[];
  listPrices: AuditRow[];
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
  a: Attempt,
  previous: PreviousValue | undefined,
  history: readonly HistoryPoint[],
): FixingResult {
  const d = m.parameters.decimals;
  const parts = a.parts ?? [];
  const used = status === 'normal' || status === 'extended_window' ? sufficientParts(parts) : [];
  // Step 8: the value is the trimmed mean of the sufficient partitions' values: sorted ascending, the lowest and
  // highest ⌊trim × n⌋ dropped, the rest summed in ascending order and divided by their count.
  let value: number | null = null;
  let stats: Pick<FixingRecord, 'vwap' | 'percentiles' | 'min' | 'max'> = { vwap: null, percentiles: null, min: null, max: null };
  if (used.length > 0) {
    const sorted = used.map((part) => part.value!).sort((a, b) => a - b);
    const cut = Math.floor(p.partition_trim * sorted.length);
    const kept = sorted.slice(cut, sorted.length - cut);
    let sum = 0;
    for (const v of kept) sum += v;
    value = roundPrice(sum / kept.length, d);
    // Statistics pool the used partitions, each partition's weights summing to 1 (so each hour counts alike).
    const pooled = weightedOrder(
      used.flatMap((part) => part.rows),
      (r) => r.q!,
      (r) => r.wCapped!,
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
    value = roundPrice(listPriceValue(a.listPrices), d);
  } else if (status === 'carried_forward') value = previous!.value;
  // Inputs of partitions not used carry no w'.
  const usedRows = new Set(used.flatMap((part) => part.rows));
  for (const r of a.survivors) if (!usedRows.has(r)) r.wCapped = null;
  const included = status === 'list_price_tier' ? a.listPrices : [...usedRows];
  let volume = 0;
  for (const r of [...included].sort((x, y) => compareInputs(x.input, y.input))) volume += r.w!;
  const trailing = againstHistory(p, history, roundPrice(volume, d), new Set(included.map((r) => r.input.venue)));
  const record: FixingRecord = {
    series: spec.code,
    date,
    status,
    unit: spec.unit,
    value,
    ...stats,
    listings: new Set(included.map((r) => listingKey(r.input))).size,
    venues: new Set(included.map((r) => r.input.venue)).size,
    observations_included: included.length,
    volume: roundPrice(volume, d),
    excluded: countExcluded(a.rows),
    carried_from: status === 'carried_forward' ? previous!.date : null,
    window: { from: isoDate(a.win.from), to: isoDate(a.win.to) },
    methodology_version: m.version,
    parameter_hash: parameterHash(m),
    input_digest: inputDigest(a.rows, { memory: true }),
    coverage: {
      venues_present: new Set(included.map((r) => r.input.venue)).size,
      venues_admitted: a.win.admitted,
      partitions_sufficient: sufficientParts(parts).length,
      partitions: parts.length,
      volume_vs_trailing_mean: trailing.ratio === null ? null : roundPrice(trailing.ratio, d),
      trailing_days: history.length,
    },
    degraded: trailing.missing.length > 0,
    missing_venues: trailing.missing,
  };
  const venueWeights = sumBy(included, (r) => r.input.venue);
  const cappedByVenue = new Map<string, number>();
  for (const r of included) if (r.wCapped !== null) cappedByVenue.set(r.input.venue, (cappedByVenue.get(r.input.venue) ?? 0) + r.wCapped / used.length);
  const venueShares = [...shares(venueWeights)].map(([venue, share]) => ({ venue, share, capped_share: cappedByVenue.get(venue) ?? 0 }));
  return {
    record,
    evidence: {
      venue_shares: status === 'list_price_tier' || used.length > 0 ? venueShares : [],
      venue_cap: used.length > 0 ? m.parameters.venue_cap : null,
      outlier: null,
      fence: a.fence,
      partitions: parts.map((x) => ({
        from: new Date(x.from).toISOString(),
        value: x.value === null ? null : roundPrice(x.value, d),
        listings: x.listings,
        venues: x.venues,
      })),
    },
    audit: a.rows,
  };
}

/** Step 10's lower tier: the lower median of the list-price venues' lower medians of q (no volume weight at all). */
function listPriceValue(rows: readonly AuditRow[]): number {
  const byVenue = new Map<string, number[]>();
  for (const r of rows) byVenue.set(r.input.venue, [...(byVenue.get(r.input.venue) ?? []), r.q!]);
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
  if (new Set(day.listPrices.map((r) => r.input.venue)).size >= m.parameters.min_venues)
    return buildResult(m, p, spec, date, 'list_price_tier', day, previous, history);
  const carryable = previous !== undefined && Date.parse(`${date}T00:00:00Z`) - Date.parse(`${previous.date}T00:00:00Z`) <= p.max_carry_days * DAY_MS;
  return buildResult(m, p, spec, date, carryable ? 'carried_forward' : 'insufficient', day, carryable ? previous : undefined, history);
}

/** GPUIDX-COMPUTE: the on-demand tier-1 survivors of every class, in reference-class-equivalent units, partitioned alike. */
function computeRows(m: Methodology, win: Window, perClass: Map<string, Evaluation>): AuditRow[] {
  const rows = inReferenceUnits(m, (code) => perClass.get(code)?.survivors ?? []);
  for (const pr of win.byClass.get(null) ?? [])
    rows.push({ input: pr.input, classCode: null, p: null, f: null, q: null, w: null, wCapped: null, reason: pr.reason ?? pr.classReason ?? 'unmapped_gpu' });
  return rows.sort((a, b) => compareInputs(a.input, b.input));
}

/** Computes the fixings of one date under methodology v2, one series at a time, in catalog order. */
export function* fixingsOfV2(req: FixingRequest): Generator<FixingResult> {
  const m = req.methodology;
  const p = v2Parameters(m);
  const { from: extFrom, to: dayEnd } = inputWindow(req.date, m);
  const classify = memoryClassifier(m, p.memory_tolerance);
  const dayWin = prepareWindow(m, p, req.date, dayEnd - DAY_MS, dayEnd, req, classify);
  let extWin: Window | null = null;
  const ext = () => (extWin ??= prepareWindow(m, p, req.date, extFrom, dayEnd, req, classify));
  const wanted = req.series ? new Set(req.series) : null;
  const classByCode = new Map(m.classes.map((c) => [c.code, c]));
  const onDemand = { day: new Map<string, Evaluation>(), ext: new Map<string, Evaluation>() };
  const evaluate = (c: GpuClass, contract: SeriesSpec['contract'], which: 'day' | 'ext'): Evaluation => {
    const win = which === 'day' ? dayWin : ext();
    if (contract !== 'on_demand') return evaluateClass(m, p, c, contract, win);
    const cache = onDemand[which];
    let e = cache.get(c.code);
    if (!e) cache.set(c.code, (e = evaluateClass(m, p, c, contract, win)));
    return e;
  };
  const attempt = (e: Evaluation, win: Window): Attempt => ({
    win,
    rows: e.rows,
    survivors: e.survivors,
    listPrices: e.listPrices,
    fence: e.fence,
    parts: partitionValues(m, p, win, e.survivors),
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
        () => attempt(evaluate(cls, spec.contract, 'ext'), ext()),
        previous,
        history,
      );
      // GPUIDX-COMPUTE needs only the survivors of the on-demand evaluations: let the other rows go once stored,
      // and, after the class's spot series, its prepared inputs of every window whose on-demand evaluation is kept.
      if (spec.contract === 'on_demand') {
        for (const cache of [onDemand.day, onDemand.ext]) {
          const e = cache.get(cls.code);
          if (e) cache.set(cls.code, { ...e, rows: [], listPrices: [] });
        }
      } else {
        if (onDemand.day.has(cls.code)) dayWin.byClass.delete(cls.code);
        if (extWin && onDemand.ext.has(cls.code)) (extWin as Window).byClass.delete(cls.code);
      }
    } else {
      const composite = (which: 'day' | 'ext'): Attempt => {
        for (const c of m.classes) evaluate(c, 'on_demand', which);
        const win = which === 'day' ? dayWin : ext();
        const rows = computeRows(m, win, onDemand[which]);
        const survivors = rows.filter((r) => r.reason === null);
        return { win, rows, survivors, listPrices: [], fence: null, parts: partitionValues(m, p, win, survivors) };
      };
      yield decide(m, p, spec, req.date, composite('day'), () => composite('ext'), previous, history);
    }
  }
}

export { COMPUTE_SERIES };
