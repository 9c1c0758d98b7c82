// Builders for hand-computed methodology cases.
import { auditRows } from '../../src/methodology/columns.js';
import { computeFixings, type FixingResult, type ObservationInput, type PreviousValue, type SnapshotTime } from '../../src/methodology/fixing.js';
import { loadMethodology, type Methodology } from '../../src/methodology/params.js';

export const V1 = loadMethodology('1.0.0');
export const DATE = '2026-11-20';
/** 2026-11-20T00:00:00Z */
export const D0 = Date.UTC(2026, 10, 20);
export const HOUR = 3_600_000;

let seq = 0;
export function obs(venue: string, listingId: string, price: number, over: Partial<ObservationInput> = {}): ObservationInput {
  seq += 1;
  const fetchedAt = over.fetchedAt ?? D0;
  return {
    observationId: seq,
    snapshotId: 1,
    snapshotSha256: `${venue}-${fetchedAt}`,
    seq,
    venue,
    fetchedAt,
    listingId,
    gpuRaw: 'H100 SXM',
    gpuCount: 1,
    priceUsdPerHour: price,
    contract: 'on_demand',
    available: true,
    perfSystem: null,
    perfScorePerGpu: null,
    ...over,
  };
}

export function withParams(over: Partial<Methodology['parameters']>): Methodology {
  return { ...V1, parameters: { ...V1.parameters, ...over } };
}

export function fix(
  observations: ObservationInput[],
  opts: { series?: string[]; methodology?: Methodology; snapshots?: SnapshotTime[]; previous?: Map<string, PreviousValue>; date?: string } = {},
): FixingResult[] {
  return computeFixings({
    methodology: opts.methodology ?? V1,
    date: opts.date ?? DATE,
    observations,
    snapshots: opts.snapshots ?? [],
    previous: opts.previous ?? new Map(),
    series: opts.series ?? ['GPUIDX-H100-SXM'],
  });
}

export function one(observations: ObservationInput[], opts: Parameters<typeof fix>[1] = {}): FixingResult {
  const [r] = fix(observations, opts);
  return r!;
}

/** Audit rows as compact tuples: [venue, listing, reason ?? 'included', p, f, q, w, w'] */
export function auditOf(r: FixingResult) {
  return auditRows(r.audit).map((a) => [a.input.venue, a.input.listingId, a.reason ?? 'included', a.p, a.f, a.q, a.w, a.wCapped]);
}
