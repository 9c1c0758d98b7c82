// Methodology v2, rule by rule, with hand-computed cases, and the manipulations it exists to resist, with bounds.
import { auditRows } from '../../src/methodology/columns.js';
import { describe, expect, it } from 'vitest';
import { engineFor } from '../../src/methodology/engines.js';
import { memoryClassifier } from '../../src/methodology/v2.js';
import { loadMethodology } from '../../src/methodology/params.js';
import type { FixingResult, HistoryPoint, ObservationInput, PreviousValue } from '../../src/methodology/types.js';
import { D0, DATE, HOUR, obs } from './helpers.js';

const V2 = loadMethodology('2.0.0');

function fixV2(
  observations: ObservationInput[],
  opts: { series?: string[]; previous?: Map<string, PreviousValue>; history?: Map<string, HistoryPoint[]> } = {},
): FixingResult[] {
  return [
    ...engineFor(V2)({
      methodology: V2,
      date: DATE,
      observations,
      snapshots: [],
      previous: opts.previous ?? new Map(),
      series: opts.series ?? ['GPUIDX-H100-SXM'],
      ...(opts.history ? { history: opts.history } : {}),
    }),
  ];
}
const oneV2 = (o: ObservationInput[], opts: Parameters<typeof fixV2>[1] = {}) => fixV2(o, opts)[0]!;

/** A collected (http), quantity-reported observation of an admitted marketplace venue, one host per listing by default. */
function market(venue: string, listingId: string, price: number, hour: number, over: Partial<ObservationInput> = {}): ObservationInput {
  return obs(venue, listingId, price, { fetchedAt: D0 + hour * HOUR, source: 'http', quantityReported: true, hostId: `${venue}-${listingId}`, ...over });
}

/**
 * The normal day: every hour, vast lists 1.9, 2.0, 2.1, 2.2; tensordock 2.0, 2.05; akash 1.95, 2.1 (one GPU each,
 * eight hosts). Worked by hand for each hour: snapshots are an hour apart, so every w = 1. Eight hosts at the 0.1 cap
 * give a cap of 1/8: all equal, unchanged. Venue shares .5/.25/.25; vast capped to .4, the others raised to .3, so w'
 * is .1 per vast listing and .15 per other. Sorted (ties by venue name): 1.9 v .1, 1.95 a .15 (.25), 2.0 td .15
 * (.40), 2.0 v .1 (.50): the lower weighted median is 2.0 in every hour, so the day's value is 2.0.
 * VWAP per hour: .1(1.9+2.0+2.1+2.2) + .15(2.0+2.05) + .15(1.95+2.1) = .82 + .6075 + .6075 = 2.035.
 */
function normalDay(): ObservationInput[] {
  const out: ObservationInput[] = [];
  for (let h = 0; h < 24; h++) {
    for (const [i, p] of [1.9, 2.0, 2.1, 2.2].entries()) out.push(market('vast', `v${i}`, p, h));
    for (const [i, p] of [2.0, 2.05].entries()) out.push(market('tensordock', `t${i}`, p, h));
    for (const [i, p] of [1.95, 2.1].entries()) out.push(market('akash', `a${i}`, p, h));
  }
  return out;
}

describe('methodology v2 class mapping by name and memory (V2-1)', () => {
  const classify = memoryClassifier(V2, V2.parameters.memory_tolerance!);
  it.each([
    // venue, raw name, memory per GPU (GB) -> class or reason. Tolerance 0.1: |m - class memory| / class memory.
    ['vast', 'A100 SXM4', 40, 'A100-40'], // Vast gpu_ram 40960 MB: A100-40 (40 GB, distance 0), not A100-SXM-80 (0.5)
    ['vast', 'A100 SXM4', 39, 'A100-40'], // gpu_ram 39936 MB: |39 - 40| / 40 = 0.025
    ['vast', 'A100 SXM4', 80, 'A100-SXM-80'], // gpu_ram 81920 MB
    ['vast', 'A100 PCIE', 79.6474609375, 'A100-PCIE-80'], // gpu_ram 81559 MB: |79.65 - 80| / 80 = 0.0044
    ['vast', 'A100 SXM4', null, 'memory_ambiguous'], // one name, two memory sizes, nothing reported: not guessed
    ['vast', 'A100 SXM4', 60, 'memory_mismatch'], // 60 is 0.25 from 80 and 0.5 from 40: no class of the name
    ['vast', 'Tesla V100', 32, 'V100-32'],
    ['vast', 'Tesla V100', 16, 'V100-16'],
    ['vast', 'RTX 3080', 12, 'RTX-3080-12'],
    ['vast', 'RTX 3080', 10, 'RTX-3080'],
    ['vast', 'H100 SXM', null, 'H100-SXM'], // a name of one class needs no memory
    ['vast', 'H100 SXM', 79.6474609375, 'H100-SXM'],
    ['vast', 'H100 SXM', 40, 'memory_mismatch'], // 0.5 from 80: a variant the taxonomy does not list
    ['azure', 'Standard_ND96ams_A100_v4', 80, 'A100-SXM-80'], // the spelling without "r" seen in Retail Prices
    ['vast', 'B300', 288, 'B300'],
    ['vast', 'RTX PRO 6000 WS', 95.5, 'RTX-PRO-6000-WS'], // |95.5 - 96| / 96 = 0.0052
    ['vast', 'Some Future GPU', 80, 'unmapped_gpu'],
  ] as const)('%s %s with %s GB: %s', (venue, raw, memory, expected) => {
    const c = classify(venue, raw, memory);
    expect(c.code ?? c.reason).toBe(expected);
  });

  it('excludes a listing of an ambiguous name without memory, with its reason, from every class series', () => {
    // Three vast A100 SXM4 listings, one with no memory: it is in the GPUIDX-COMPUTE audit as memory_ambiguous, and
    // the 40 GB one is in A100-40's audit, not A100-SXM-80's.
    // Seen in two hourly snapshots, so persistence (V2-2) does not exclude them first.
    const rows = [0, 1].flatMap((h) => [
      market('vast', 'a80', 1.9, h, { gpuRaw: 'A100 SXM4', gpuMemoryGb: 80 }),
      market('vast', 'a40', 1.0, h, { gpuRaw: 'A100 SXM4', gpuMemoryGb: 40 }),
      market('vast', 'a00', 1.5, h, { gpuRaw: 'A100 SXM4', gpuMemoryGb: null }),
    ]);
    const [sxm80, a40, compute] = fixV2(rows, { series: ['GPUIDX-A100-SXM-80', 'GPUIDX-A100-40', 'GPUIDX-COMPUTE'] });
    expect(auditRows(sxm80!.audit).map((a) => a.input.listingId)).toEqual(['a80', 'a80']);
    expect(auditRows(a40!.audit).map((a) => a.input.listingId)).toEqual(['a40', 'a40']);
    expect(
      auditRows(compute!.audit)
        .filter((a) => a.reason === 'memory_ambiguous')
        .map((a) => a.input.listingId),
    ).toEqual(['a00', 'a00']);
  });
});

describe('methodology v2, hand-computed', () => {
  it('the mean of 24 hourly capped weighted medians, with VWAP, volume and coverage', () => {
    const r = oneV2(normalDay());
    expect(r.record).toMatchObject({
      status: 'normal',
      value: 2,
      vwap: 2.035,
      min: 1.9,
      max: 2.2,
      listings: 8,
      venues: 3,
      observations_included: 192,
      volume: 192,
      excluded: {},
      methodology_version: '2.0.0',
    });
    expect(r.record.coverage).toEqual({
      venues_present: 3,
      venues_admitted: 6,
      partitions_sufficient: 24,
      partitions: 24,
      volume_vs_trailing_mean: null,
      trailing_days: 0,
    });
    expect([r.record.degraded, r.record.missing_venues]).toEqual([false, []]);
    // Fence: venue medians ln 1.95 (akash), ln 2 (tensordock), ln 2 (vast); centre ln 2; MAD 0, so the floor 0.1
    // holds the dispersion, and the fence is 2·e^(±3.5·0.1) = [1.4094, 2.8381].
    expect(r.evidence.fence).toMatchObject({ centre: Math.log(2), dispersion: 0.1 });
    expect(r.evidence.fence!.lower.toFixed(4)).toBe('1.4094');
    expect(r.evidence.fence!.upper.toFixed(4)).toBe('2.8381');
    expect(r.evidence.partitions).toHaveLength(24);
    expect(new Set(r.evidence.partitions!.map((p) => p.value))).toEqual(new Set([2]));
  });

  it('admits only listed venues, by provenance: an unknown venue and a file claiming to be a collector are kept but never weighed', () => {
    const r = oneV2([
      ...normalDay(),
      market('newvenue', 'n1', 0.5, 3),
      market('newvenue', 'n1', 0.5, 4),
      market('vast', 'forged', 0.5, 3, { source: 'file' }),
      market('vast', 'forged', 0.5, 4, { source: 'file' }),
    ]);
    expect(r.record.value).toBe(2);
    expect(r.record.excluded).toEqual({ provenance_mismatch: 2, venue_not_admitted: 2 });
  });

  it('never gives list prices volume weight: a list-price venue is audited as list_price_unweighted', () => {
    const azure = Array.from({ length: 24 }, (_, h) => market('azure', 'nd96', 2.5 * 8, h, { gpuCount: 8, quantityReported: false }));
    const r = oneV2([...normalDay(), ...azure]);
    expect(r.record.value).toBe(2);
    expect(r.record.excluded).toEqual({ list_price_unweighted: 24 });
  });

  it("excludes a bid above the same offer's ask from the spot series", () => {
    // Offer v9: on demand 2.0, bid floor 3.0 (above the ask); offer v8: on demand 2.0, bid 1.0.
    const rows: ObservationInput[] = [];
    for (const h of [0, 1]) {
      rows.push(market('vast', 'v9', 2, h), market('vast', 'v9/bid', 3, h, { contract: 'interruptible' }));
      rows.push(market('vast', 'v8', 2, h), market('vast', 'v8/bid', 1, h, { contract: 'interruptible' }));
    }
    const r = oneV2(rows, { series: ['GPUIDX-H100-SXM-SPOT'] });
    const reasons = Object.fromEntries(
      auditRows(r.audit)
        .filter((a) => a.input.contract === 'interruptible')
        .map((a) => [`${a.input.listingId}@${(a.input.fetchedAt - D0) / HOUR}`, a.reason]),
    );
    expect(reasons).toEqual({ 'v8/bid@0': null, 'v8/bid@1': null, 'v9/bid@0': 'bid_above_ask', 'v9/bid@1': 'bid_above_ask' });
  });

  it('counts the GPUs of one machine once across its overlapping offers', () => {
    // Machine m1 (vast) offers slices of 1, 2 and 4 GPUs at once, every hour: sum 7, largest 4, so each has
    // o = 4/7 and w = 4/7, 8/7, 16/7 (together 4 GPU-hours an hour, not 7). The day's volume: the normal day's 192
    // plus 24 x 4 = 96.
    const slices = Array.from({ length: 24 }, (_, h) =>
      [1, 2, 4].map((n) => market('vast', `m1-${n}`, 2.0 * n, h, { gpuCount: n, machineId: 'm1', hostId: 'host-m1' })),
    ).flat();
    const r = oneV2([...normalDay(), ...slices]);
    const w = Object.fromEntries(
      auditRows(r.audit)
        .filter((a) => a.input.machineId === 'm1' && a.input.fetchedAt === D0)
        .map((a) => [a.input.listingId, a.w!.toFixed(12)]),
    );
    expect(w).toEqual({ 'm1-1': (4 / 7).toFixed(12), 'm1-2': (8 / 7).toFixed(12), 'm1-4': (16 / 7).toFixed(12) });
    expect(r.record.volume).toBe(288);
  });

  it('does not count a listing seen in one snapshot only', () => {
    const r = oneV2([...normalDay(), market('vast', 'blip', 1.0, 12)]);
    expect(r.record.value).toBe(2);
    expect(r.record.excluded).toEqual({ not_persistent: 1 });
  });

  it('keeps a fence when two venues agree to the cent: the dispersion floor', () => {
    // Venues a (vast) and t (tensordock) at 2.0 every hour, akash at 2.5 and 3.0 (one listing each). Venue medians:
    // ln 2, ln 2, and akash's lower median ln 2.5; MAD 0, floor 0.1: fence [1.4094, 2.8381]. 2.5 is in, 3.0 out.
    const rows: ObservationInput[] = [];
    for (let h = 0; h < 24; h++)
      rows.push(market('vast', 'v1', 2, h), market('tensordock', 't1', 2, h), market('akash', 'a1', 2.5, h), market('akash', 'a2', 3, h));
    const r = oneV2(rows);
    expect(r.record.excluded).toEqual({ outlier: 24 });
    expect(
      auditRows(r.audit)
        .filter((a) => a.input.listingId === 'a2')
        .every((a) => a.reason === 'outlier'),
    ).toBe(true);
  });

  it('compares the volume with the trailing mean, and flags a fixing degraded when a usually large venue is missing', () => {
    // Trailing fixings: volumes 100 and 300 (mean 200); shares: lambda .3 and .3 (mean .3 >= .25), runpod .1 and
    // .2 (mean .15), vast .6 and .5. Today: the normal day, volume 192 without lambda or runpod: 192 / 200 = 0.96,
    // degraded, lambda missing (runpod's usual share is below the threshold; vast is present). The 2026-11-17
    // fixing was published under version 1, which measures volume differently: it is not compared with. Counted,
    // it would give a mean of (10000 + 100 + 300) / 3 = 3466.67, a ratio of 0.06, and runpod a mean share of 0.4.
    const history = new Map<string, HistoryPoint[]>([
      [
        'GPUIDX-H100-SXM',
        [
          { date: '2026-11-17', methodology_version: '1.0.0', volume: 10000, venue_shares: { runpod: 0.9, vast: 0.1 } },
          { date: '2026-11-18', methodology_version: '2.0.0', volume: 100, venue_shares: { lambda: 0.3, runpod: 0.1, vast: 0.6 } },
          { date: '2026-11-19', methodology_version: '2.0.0', volume: 300, venue_shares: { lambda: 0.3, runpod: 0.2, vast: 0.5 } },
        ],
      ],
    ]);
    const r = oneV2(normalDay(), { history });
    expect(r.record.coverage).toMatchObject({ volume_vs_trailing_mean: 0.96, trailing_days: 2 });
    expect([r.record.status, r.record.value, r.record.degraded, r.record.missing_venues]).toEqual(['normal', 2, true, ['lambda']]);
  });

  it('carries a value forward one day at most, then is insufficient', () => {
    const previous = (date: string) => new Map([['GPUIDX-H100-SXM', { date, value: 2.2 }]]);
    expect(oneV2([], { previous: previous('2026-11-19') }).record).toMatchObject({ status: 'carried_forward', value: 2.2, carried_from: '2026-11-19' });
    expect(oneV2([], { previous: previous('2026-11-18') }).record).toMatchObject({ status: 'insufficient', value: null, carried_from: null });
  });

  it('publishes the list-price tier, unweighted, when no volume-weighted value can be made', () => {
    // Only list prices: azure 16 per 8 GPUs (q 2.0) and lambda 2.4 and 2.6 per GPU. Lower medians per venue: azure
    // 2.0, lambda 2.4; their lower median (of 2 values, index 0) is 2.0.
    const rows: ObservationInput[] = [];
    for (const h of [0, 1]) {
      rows.push(market('azure', 'nd96', 16, h, { gpuCount: 8, quantityReported: false }));
      rows.push(market('lambda', 'l1', 2.4, h, { quantityReported: false }), market('lambda', 'l2', 2.6, h, { quantityReported: false }));
    }
    expect(oneV2(rows).record).toMatchObject({ status: 'list_price_tier', value: 2, venues: 2, listings: 3, vwap: null });
  });
});

describe('methodology v2 against manipulation', () => {
  const base = oneV2(normalDay()).record.value!;
  const moved = (extra: ObservationInput[]) => Math.abs(oneV2([...normalDay(), ...extra]).record.value! / base - 1);

  it('an unknown venue flooding 500 cheap listings all day has no effect', () => {
    const flood = Array.from({ length: 24 }, (_, h) => Array.from({ length: 500 }, (_, i) => market('cheapgpus', `c${i}`, 1.0, h))).flat();
    expect(moved(flood)).toBe(0);
  });

  it('the same flood filed under "vast" through import has no effect', () => {
    const flood = Array.from({ length: 24 }, (_, h) => Array.from({ length: 500 }, (_, i) => market('vast', `c${i}`, 1.0, h, { source: 'file' }))).flat();
    expect(moved(flood)).toBe(0);
  });

  it.each([2.6, 3.0])('one host with 50 listings at %f all day moves it by at most 3%', (price) => {
    // 2.6 (1.3 times) is inside the fence: the host cap (1/9 with nine hosts) holds it to one step of the median;
    // 3.0 (1.5 times) is outside it.
    const flood = Array.from({ length: 24 }, (_, h) => Array.from({ length: 50 }, (_, i) => market('vast', `h${i}`, price, h, { hostId: 'one-host' }))).flat();
    expect(moved(flood)).toBeLessThanOrEqual(0.03);
  });

  it('a burst in the last 30 minutes moves it by at most 1%', () => {
    // 200 listings from 200 hosts on two venues at 0.75 times the market, seen at 23:30 and 23:45 (so persistent):
    // they own the last hour, whose value the trimmed mean then drops.
    const burst = [23.5, 23.75].flatMap((h) =>
      Array.from({ length: 200 }, (_, i) => market(i % 2 ? 'vast' : 'tensordock', `b${i}`, 1.5, h, { hostId: `burst-${i}` })),
    );
    expect(oneV2([...normalDay(), ...burst]).evidence.partitions!.at(-1)!.value).toBe(1.5);
    expect(moved(burst)).toBeLessThanOrEqual(0.01);
  });

  it('unreported-quantity list prices at 3 times the market, counted at 8 GPUs, move it by at most 1%', () => {
    const lists = Array.from({ length: 24 }, (_, h) =>
      [0, 1, 2].map((i) => market('azure', `nd${i}`, 6 * 8, h, { gpuCount: 8, quantityReported: false })),
    ).flat();
    expect(moved(lists)).toBeLessThanOrEqual(0.01);
  });

  it('a flood seen in one snapshot moves it by at most 1%', () => {
    const flood = Array.from({ length: 500 }, (_, i) => market('vast', `f${i}`, 1.0, 12, { hostId: `f${i}` }));
    expect(moved(flood)).toBeLessThanOrEqual(0.01);
  });

  it("a list-price venue holding most of a thin class's volume cannot push the marketplace listings out as outliers", () => {
    // Thin marketplace: vast 2.0 and tensordock 2.1 and 2.2, every hour; azure: four VMs of 8 GPUs at 4.0 per GPU.
    const rows: ObservationInput[] = [];
    for (let h = 0; h < 24; h++) {
      rows.push(market('vast', 'v1', 2.0, h), market('tensordock', 't1', 2.1, h), market('tensordock', 't2', 2.2, h));
      for (let i = 0; i < 4; i++) rows.push(market('azure', `nd${i}`, 32, h, { gpuCount: 8, quantityReported: false }));
    }
    const r = oneV2(rows);
    expect(r.record.status).toBe('normal');
    expect(
      auditRows(r.audit)
        .filter((a) => a.input.venue !== 'azure')
        .every((a) => a.reason === null),
    ).toBe(true);
    // Each hour: vast .5 is capped by the two-venue cap of 1/2 (unchanged); t1, t2 .25 each. Median: 2.0 at .5.
    expect(r.record.value).toBe(2);
  });
});
