// Hand-computed cases for every step of methodology v1 (numbers worked out on paper; see the comments).
import { auditRows } from '../../src/methodology/columns.js';
import { describe, expect, it } from 'vitest';
import { capVenueShares, computeFixings, roundPrice } from '../../src/methodology/fixing.js';
import { weightedQuantile } from './reference/quantile.js';
import { auditOf, D0, DATE, fix, HOUR, obs, one, V1, withParams } from './helpers.js';

describe('step 8: venue cap, value, VWAP and percentiles', () => {
  it('caps the dominant venue and takes the lower weighted median', () => {
    // a: p 2 (w 1), b: p 3 (w 2), c: p 2.5 (w 1). Shares .25/.5/.25; b capped to .4, a and c raised to .3.
    // w' = 1.2, 1.6, 1.2. Sorted q: 2, 2.5, 3; half of 4 is first reached at 2.5. VWAP = 10.2 / 4.
    const r = one([obs('a', 'a1', 2), obs('b', 'b1', 6, { gpuCount: 2 }), obs('c', 'c1', 2.5)]);
    expect(r.record).toMatchObject({
      series: 'GPUIDX-H100-SXM',
      date: DATE,
      status: 'normal',
      unit: 'USD per GPU-hour',
      value: 2.5,
      vwap: 2.55,
      percentiles: { p10: 2, p25: 2, p75: 3, p90: 3 },
      min: 2,
      max: 3,
      listings: 3,
      venues: 3,
      observations_included: 3,
      volume: 4,
      excluded: {},
      carried_from: null,
      window: { from: '2026-11-20', to: '2026-11-21' },
      methodology_version: '1.0.0',
    });
    expect(r.evidence.venue_cap).toBe(0.4);
    expect(r.evidence.venue_shares).toEqual([
      { venue: 'a', share: 0.25, capped_share: 0.3 },
      { venue: 'b', share: 0.5, capped_share: 0.4 },
      { venue: 'c', share: 0.25, capped_share: 0.3 },
    ]);
    expect(auditRows(r.audit).map((a) => [a.input.listingId, roundPrice(a.wCapped!, 12)])).toEqual([
      ['a1', 1.2],
      ['b1', 1.6],
      ['c1', 1.2],
    ]);
  });

  it.each([
    ['one venue keeps everything', { a: 1 }, 1, { a: 1 }],
    ['two venues: cap becomes 1/2', { a: 0.9, b: 0.1 }, 0.5, { a: 0.5, b: 0.5 }],
    ['many venues: one capped, the rest scaled', { a: 0.5, b: 0.3, c: 0.1, d: 0.1 }, 0.4, { a: 0.4, b: 0.36, c: 0.12, d: 0.12 }],
    ['cascade: scaling pushes a second venue over', { a: 0.45, b: 0.39, c: 0.16 }, 0.4, { a: 0.4, b: 0.4, c: 0.2 }],
    ['nobody above the cap: unchanged', { a: 0.35, b: 0.35, c: 0.3 }, 0.4, { a: 0.35, b: 0.35, c: 0.3 }],
  ])('venue cap: %s', (_name, shares, cap, expected) => {
    const out = capVenueShares(new Map(Object.entries(shares)), 0.4);
    expect(out.cap).toBe(cap);
    expect(Object.fromEntries([...out.capped].map(([v, s]) => [v, roundPrice(s, 12)]))).toEqual(expected);
  });

  it('breaks ties in the weighted median by venue, listing id and fetched_at', () => {
    const items = [
      { value: 3, weight: 1, venue: 'b', listingId: 'x', fetchedAt: 0 },
      { value: 2, weight: 1, venue: 'b', listingId: 'y', fetchedAt: 0 },
      { value: 2, weight: 1, venue: 'a', listingId: 'z', fetchedAt: 0 },
      { value: 4, weight: 1, venue: 'a', listingId: 'w', fetchedAt: 0 },
    ];
    // Equal weights, four items: half (2) is first reached at the second item, which is the lower median.
    expect(weightedQuantile(items, 0.5)).toBe(2);
    expect(weightedQuantile(items, 0.75)).toBe(3);
    expect(weightedQuantile(items, 0.76)).toBe(4);
    expect(weightedQuantile(items, 0.1)).toBe(2);
  });
});

describe('steps 1 to 5: mapping, exclusions, per-GPU price, throughput and time weight', () => {
  it('records each exclusion with its reason and keeps the first of two duplicates', () => {
    const snapA = { fetchedAt: D0, snapshotSha256: 'snap-a' };
    const r = one([
      obs('a', 'ok1', 2, snapA),
      obs('a', 'ok1', 9, snapA), // same listing twice in one snapshot
      obs('a', 'busy', 2, { available: false }),
      obs('b', 'spot', 1, { contract: 'interruptible' }),
      obs('b', 'zero', 0),
      obs('b', 'nocount', 2, { gpuCount: 0 }),
      obs('b', 'nan', Number.NaN),
      obs('c', 'cheap', 0.04),
      obs('c', 'dear', 100), // on the band's edge: passes the band, then fails the outlier fence
      obs('c', 'dearer', 101), // above the band
      obs('c', 'ok2', 2.2),
      obs('b', 'ok3', 2.1),
      obs('c', 'other', 2, { gpuRaw: 'Quantum Fantasy 9000' }),
    ]);
    // Audit rows are in canonical input order: venue, fetched_at, snapshot, position.
    expect(auditRows(r.audit).map((a) => [a.input.listingId, a.reason ?? 'included'])).toEqual([
      ['busy', 'not_available'],
      ['ok1', 'included'],
      ['ok1', 'duplicate'],
      ['spot', 'wrong_contract'],
      ['zero', 'invalid_price'],
      ['nocount', 'invalid_price'],
      ['nan', 'invalid_price'],
      ['ok3', 'included'],
      ['cheap', 'price_out_of_band'],
      ['dear', 'outlier'],
      ['dearer', 'price_out_of_band'],
      ['ok2', 'included'],
    ]);
    expect(r.record.excluded).toEqual({ duplicate: 1, invalid_price: 3, not_available: 1, outlier: 1, price_out_of_band: 2, wrong_contract: 1 });
    // The unmapped GPU is nobody's class input; it is on record in GPUIDX-COMPUTE's audit.
    const compute = fix([obs('c', 'other', 2, { gpuRaw: 'Quantum Fantasy 9000' })], { series: ['GPUIDX-COMPUTE'] })[0]!;
    expect(auditOf(compute)).toEqual([['c', 'other', 'unmapped_gpu', null, null, null, null, null]]);
  });

  it('maps raw names by venue alias, then "*" alias, then canonical code, ignoring case and spacing', () => {
    const r = fix(
      [
        obs('runpod', 'r', 2, { gpuRaw: 'NVIDIA H100 80GB HBM3' }),
        obs('azure', 'z', 80, { gpuRaw: 'Standard_ND96isr_H100_v5', gpuCount: 8 }),
        obs('partner', 'p', 2, { gpuRaw: '  h100   sxm ' }),
        obs('partner', 'c', 2, { gpuRaw: 'H100-SXM' }),
        obs('vast', 'n', 2, { gpuRaw: 'H100 NVL' }),
        obs('partner', 'u', 2, { gpuRaw: 'Standard_ND96isr_H100_v5' }), // an Azure SKU name means nothing elsewhere
      ],
      { series: ['GPUIDX-H100-SXM', 'GPUIDX-H100-NVL', 'GPUIDX-COMPUTE'] },
    );
    expect(r.map((x) => [x.record.series, auditRows(x.audit).map((a) => `${a.input.venue}/${a.input.listingId}:${a.classCode}`)])).toEqual([
      ['GPUIDX-H100-SXM', ['azure/z:H100-SXM', 'partner/p:H100-SXM', 'partner/c:H100-SXM', 'runpod/r:H100-SXM']],
      ['GPUIDX-H100-NVL', ['vast/n:H100-NVL']],
      ['GPUIDX-COMPUTE', ['azure/z:H100-SXM', 'partner/p:H100-SXM', 'partner/c:H100-SXM', 'partner/u:null', 'runpod/r:H100-SXM', 'vast/n:H100-NVL']],
    ]);
  });

  it('normalizes by benchmark score against the class reference, clamped to [0.5, 2]', () => {
    // Reference vast_dlperf for H100-SXM is 314.38: a machine scoring half of it costs twice as much per unit.
    const vast = (id: string, score: number | null, system = 'vast_dlperf') =>
      obs('vast', id, 2, { perfSystem: score === null ? null : system, perfScorePerGpu: score });
    const r = one(
      [
        vast('half', 157.19),
        vast('double', 628.76),
        vast('fast', 1000),
        vast('slow', 100),
        vast('par', 314.38),
        vast('none', null),
        vast('other', 100, 'mlperf'),
      ],
      {
        methodology: withParams({ min_venues: 1 }),
      },
    );
    expect(auditRows(r.audit).map((a) => [a.input.listingId, a.f, a.q])).toEqual([
      ['half', 2, 4],
      ['double', 0.5, 1],
      ['fast', 0.5, 1],
      ['slow', 2, 4],
      ['par', 1, 2],
      ['none', 1, 2],
      ['other', 1, 2],
    ]);
  });

  it('weights each snapshot by the time until the venue next reported, capped at max_gap_seconds', () => {
    // Venue a reports at 00:00, 00:10 and 23:30; an empty snapshot at 00:05 still counts as a report.
    // a@00:00 → 300 s, a@00:10 → min(83,400 s, 3,600 s), a@23:30 → 1,800 s to the window's end. b@12:00 → 3,600 s.
    const r = one(
      [
        obs('a', 'x', 4, { gpuCount: 2, fetchedAt: D0 }),
        obs('a', 'x', 4, { gpuCount: 2, fetchedAt: D0 + 10 * 60_000 }),
        obs('a', 'x', 4, { gpuCount: 2, fetchedAt: D0 + 23.5 * HOUR }),
        obs('b', 'y', 2, { fetchedAt: D0 + 12 * HOUR }),
        obs('b', 'z', 2, { fetchedAt: D0 + 12 * HOUR }),
      ],
      { snapshots: [{ venue: 'a', fetchedAt: D0 + 5 * 60_000 }] },
    );
    expect(auditRows(r.audit).map((a) => [a.input.venue, a.input.fetchedAt - D0, a.w])).toEqual([
      ['a', 0, (2 * 300) / 3600],
      ['a', 600_000, 2],
      ['a', 84_600_000, 1],
      ['b', 43_200_000, 1],
      ['b', 43_200_000, 1],
    ]);
    // 600 / 3600 + 2 + 1 + 1 + 1 = 5.16666…, to 4 decimals 5.1667.
    expect(r.record.volume).toBe(5.1667);
  });
});

describe('step 6: outliers', () => {
  it('excludes a listing beyond k x 1.4826 x MAD of ln q from the weighted median', () => {
    // ln q of 2, 2.1, 2.2, 2.3, 20: median ln 2.2, MAD ln 2.2 - ln 2.1 = 0.0465, fence 0.2414: only 20 is out.
    const r = one([obs('a', '1', 2), obs('b', '2', 2.1), obs('c', '3', 2.2), obs('d', '4', 2.3), obs('e', '5', 20)]);
    expect(auditRows(r.audit).map((a) => [a.input.listingId, a.reason ?? 'included'])).toEqual([
      ['1', 'included'],
      ['2', 'included'],
      ['3', 'included'],
      ['4', 'included'],
      ['5', 'outlier'],
    ]);
    const mad = Math.log(2.2) - Math.log(2.1);
    expect(r.evidence.outlier).toEqual({
      median_ln: Math.log(2.2),
      mad,
      lower: Math.exp(Math.log(2.2) - 3.5 * 1.4826 * mad),
      upper: Math.exp(Math.log(2.2) + 3.5 * 1.4826 * mad),
    });
    expect(r.record.value).toBe(2.1);
  });

  it('excludes nothing when MAD is 0', () => {
    const r = one([obs('a', '1', 2), obs('b', '2', 2), obs('c', '3', 2), obs('d', '4', 2), obs('e', '5', 5)]);
    expect(r.evidence.outlier!.mad).toBe(0);
    expect(r.record).toMatchObject({ status: 'normal', value: 2, max: 5, excluded: {} });
  });
});

describe('step 7: data sufficiency and fallbacks', () => {
  const twoDaysAgo = D0 - 2 * 24 * HOUR;
  it('falls back to the extended window when the day alone is insufficient', () => {
    const r = one([obs('a', '1', 2), obs('a', '2', 2.2), obs('b', '3', 2.4, { fetchedAt: twoDaysAgo }), obs('c', '4', 9, { fetchedAt: D0 - 4 * 24 * HOUR })]);
    expect(r.record).toMatchObject({ status: 'extended_window', value: 2.2, listings: 3, venues: 2, window: { from: '2026-11-18', to: '2026-11-21' } });
    // The listing from four days ago is outside even the extended window.
    expect(auditRows(r.audit).map((a) => a.input.listingId)).toEqual(['1', '2', '3']);
  });

  it('carries the latest earlier value forward, naming its date', () => {
    const r = one([obs('a', '1', 2)], { previous: new Map([['GPUIDX-H100-SXM', { date: '2026-11-17', value: 2.3456 }]]) });
    expect(r.record).toMatchObject({
      status: 'carried_forward',
      value: 2.3456,
      carried_from: '2026-11-17',
      vwap: null,
      percentiles: null,
      listings: 1,
      venues: 1,
    });
    expect(auditOf(r)).toEqual([['a', '1', 'included', 2, 1, 2, 1, null]]);
  });

  it('publishes insufficient with no value when there is nothing to carry (a single listing)', () => {
    expect(one([obs('a', '1', 2)]).record).toMatchObject({ status: 'insufficient', value: null, carried_from: null, listings: 1, venues: 1 });
  });

  it('publishes every series as insufficient on an empty day', () => {
    const all = computeFixings({ methodology: V1, date: DATE, observations: [], snapshots: [], previous: new Map() });
    expect(all).toHaveLength(41);
    expect(new Set(all.map((r) => r.record.status))).toEqual(new Set(['insufficient']));
    expect(all[0]!.record).toMatchObject({ value: null, listings: 0, venues: 0, volume: 0, excluded: {} });
  });
});

describe('step 9: GPUIDX-COMPUTE', () => {
  it('pools on-demand survivors in H100-SXM-equivalent prices and hours', () => {
    // A100-SXM-80 at 0.6 per GPU-hour with 312 TFLOPS: e = 0.6 x 989.4 / 312 = 1.9027, weight 312 / 989.4 = 0.3153.
    // Sorted e: 1.9027 (a), 2.0 (a), 2.2 (b), 2.4 (c); total 3.3153, half reached at 2.2. Venue a's share 0.3967 < cap.
    const r = fix(
      [
        obs('a', 'h1', 2),
        obs('b', 'h2', 2.2),
        obs('c', 'h3', 2.4),
        obs('a', 'a1', 0.6, { gpuRaw: 'A100 SXM4' }),
        obs('a', 'r5', 0.9, { gpuRaw: 'RTX 5090' }), // a class without a TFLOPS figure
        obs('b', 'sp', 1, { contract: 'interruptible' }),
      ],
      { series: ['GPUIDX-COMPUTE'] },
    )[0]!;
    expect(r.record).toMatchObject({
      status: 'normal',
      value: 2.2,
      min: 1.9027,
      max: 2.4,
      listings: 4,
      venues: 3,
      unit: 'USD per H100-SXM-equivalent hour',
      excluded: { no_tflops: 1 },
    });
    expect(auditRows(r.audit).map((a) => [a.input.listingId, a.reason ?? 'included', a.q, a.w])).toEqual([
      ['h1', 'included', 2, 1],
      ['a1', 'included', 0.6 * (989.4 / 312), (1 * 312) / 989.4],
      ['r5', 'no_tflops', 0.9, 1],
      ['h2', 'included', 2.2, 1],
      ['h3', 'included', 2.4, 1],
    ]);
  });
});

describe('step 10: rounding', () => {
  it.each([
    [2.55, 2.55],
    [1.00005, 1.0001],
    [2.00015, 2.0002],
    [0.12345, 0.1235],
    [3.99995, 4],
    [10.00004999, 10],
  ])('%d rounds to %d (half up on the exact binary value, as toFixed)', (x, y) => {
    expect(roundPrice(x, V1.parameters.decimals)).toBe(y);
  });
});
