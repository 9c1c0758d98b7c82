import { allObservations } from '../../../src/storage/index.js';
import { createHash } from 'node:crypto';
import { http, HttpResponse } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectVenue } from '../../../src/collectors/runner.js';
import { vast, vastRegion } from '../../../src/collectors/venues/vast.js';
import { parserFor } from '../../../src/collectors/parsers.js';
import { loadMethodology } from '../../../src/methodology/params.js';
import { memoryClassifier } from '../../../src/methodology/v2.js';
import { fixtureBytes, issuesOf, observationsOf, snapshotsOf, tempDb, testDeps, testPolicy, venueConfig, type TempDb } from '../../helpers.js';
import { JSON_HEADERS, useMsw } from '../../msw.js';

const URL_ = 'https://console.vast.ai/api/v0/bundles/';
const server = useMsw();
let t: TempDb;
beforeEach(async () => {
  t = await tempDb();
});
afterEach(async () => t.cleanup());

function serve(fixture: string, seen: { body?: unknown; auth?: string | null } = {}) {
  const bytes = fixtureBytes(fixture);
  server.use(
    http.post(URL_, async ({ request }) => {
      seen.body = await request.json();
      seen.auth = request.headers.get('authorization');
      return new HttpResponse(bytes, { headers: JSON_HEADERS });
    }),
  );
  return bytes;
}

describe('vast adapter', () => {
  it('stores the exact bytes, then per offer an on-demand observation (machine price, DLPerf per GPU) and an interruptible one at its bid floor', async () => {
    const seen: { body?: unknown; auth?: string | null } = {};
    const bytes = serve('venues/vast/offers.json', seen);
    const summary = await collectVenue(testDeps(t.db), vast, venueConfig('vast'), testPolicy);

    expect(summary).toMatchObject({ venue: 'vast', outcome: 'ok', snapshots: 1, observations: 8, attempts: 1, error: null });
    expect(seen.body).toEqual({ rentable: { eq: true }, type: 'on-demand', limit: 5000 });
    expect(seen.auth).toBeNull();

    const [snap] = await snapshotsOf(t.db);
    expect(Buffer.compare(snap!.body, bytes)).toBe(0);
    expect(snap!.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(snap).toMatchObject({
      venue: 'vast',
      source: 'http',
      request_method: 'POST',
      request_url: URL_,
      http_status: 200,
      content_type: 'application/json; charset=utf-8',
      byte_size: bytes.byteLength,
      truncated: 0,
      parser_version: 'vast/4',
      parser_options: '{"default_quantity":1,"strip_bom":true}',
      parse_outcome: 'ok',
      parse_error: null,
      rows_total: 4,
      // Payload rows that gave observations: each of the 4 offers gave two (its on-demand and its bid listing).
      rows_accepted: 4,
      rows_rejected: 0,
      rows_ignored: 0,
    });

    const common = { snapshot_id: snap!.id, available: 1, perf_system: 'vast_dlperf', quantity_reported: 1 };
    const offers = [
      {
        listing_id: '44075905',
        host_id: '389020',
        gpu_raw: 'H100 SXM',
        gpu_count: 1,
        price: 1.3168888888888888,
        bid: 1.0,
        perf_score_per_gpu: 356.59401164761107,
        region: 'US/Montana',
      },
      {
        listing_id: '45136641',
        host_id: '610410',
        gpu_raw: 'H100 SXM',
        gpu_count: 1,
        price: 1.6555555555555554,
        bid: 1.3333333333333333,
        perf_score_per_gpu: 334.4953333026843,
        region: 'US',
      },
      {
        listing_id: '45055542',
        host_id: '546321',
        gpu_raw: 'H100 NVL',
        gpu_count: 1,
        price: 1.988888888888889,
        bid: 0.5333333333333333,
        perf_score_per_gpu: 377.53161580764754,
        region: 'RO/Romania',
      },
      {
        listing_id: '44075906',
        host_id: '389020',
        gpu_raw: 'H100 SXM',
        gpu_count: 2,
        price: 2.6235555555555554,
        bid: 2.0,
        perf_score_per_gpu: 316.30580895542704,
        region: 'US/Montana',
      },
    ];
    expect(await observationsOf(t.db)).toEqual(
      offers.flatMap(({ price, bid, ...o }, i) => [
        { ...common, ...o, seq: 2 * i, contract: 'on_demand', price_usd_per_hour: price },
        { ...common, ...o, seq: 2 * i + 1, listing_id: `${o.listing_id}/bid`, contract: 'interruptible', price_usd_per_hour: bid },
      ]),
    );
    // vast/3 keeps each offer's machine: offers 44075905 and 44075906 are two slices (1 and 2 GPUs) of machine 142194.
    const machines = (await allObservations(t.db)).filter((o) => o.contract === 'on_demand').map(({ listing_id, machine_id }) => ({ listing_id, machine_id }));
    expect(machines).toEqual([
      { listing_id: '44075905', machine_id: '142194' },
      { listing_id: '45136641', machine_id: '144339' },
      { listing_id: '45055542', machine_id: '144211' },
      { listing_id: '44075906', machine_id: '142194' },
    ]);
  });

  it('reads the memory per GPU of real-shaped offers, so that one name of two memory sizes lands in two classes', async () => {
    serve('venues/vast/offers-real-shapes.json');
    const summary = await collectVenue(testDeps(t.db), vast, venueConfig('vast'), testPolicy);
    expect(summary).toMatchObject({ outcome: 'ok', observations: 18 }); // 9 offers, each with its bid
    const rows = (await allObservations(t.db)).filter((o) => o.contract === 'on_demand');
    const v2 = loadMethodology('2.0.0');
    const classify = memoryClassifier(v2, v2.parameters.memory_tolerance!);
    // gpu_ram / 1024: 40960 -> 40, 81920 -> 80, 39936 -> 39, absent -> null, 16384 -> 16, 32768 -> 32, 81559 -> 79.6474609375.
    expect(
      rows.map((r) => [
        r.listing_id,
        r.gpu_raw,
        r.gpu_memory_gb,
        classify('vast', r.gpu_raw, r.gpu_memory_gb).code ?? classify('vast', r.gpu_raw, r.gpu_memory_gb).reason,
      ]),
    ).toEqual([
      ['51000001', 'A100 SXM4', 40, 'A100-40'],
      ['51000002', 'A100 SXM4', 80, 'A100-SXM-80'],
      ['51000003', 'A100 PCIE', 39, 'A100-40'],
      ['51000004', 'A100 SXM4', null, 'memory_ambiguous'],
      ['51000005', 'Tesla V100', 16, 'V100-16'],
      ['51000006', 'Tesla V100', 32, 'V100-32'],
      ['36473839', 'H100 SXM', 79.6474609375, 'H100-SXM'],
      ['51000008', 'H100 SXM', 79.6474609375, 'H100-SXM'],
      ['51000009', 'H100 SXM', 79.6474609375, 'H100-SXM'],
    ]);
    // Two slices of one machine, listed at once; and the real offer whose bid floor (13.33) is above its ask (3.78).
    expect(rows.filter((r) => r.machine_id === '160008').map((r) => r.listing_id)).toEqual(['51000008', '51000009']);
    const bid = (await allObservations(t.db)).find((o) => o.listing_id === '36473839/bid')!;
    expect(bid.price_usd_per_hour).toBe(13.333333333333334);
  });

  it('keeps parsing a vast/3 snapshot as vast/3 did: no memory', () => {
    const payload = JSON.parse(fixtureBytes('venues/vast/offers-real-shapes.json').toString('utf8')) as unknown;
    const v3 = parserFor('vast/3')!(payload, { default_quantity: 1 });
    expect(v3.ok && v3.listings.length).toBe(18);
    expect(v3.ok && v3.listings.every((l) => l.listing.gpu_memory_gb === null && l.listing.machine_id !== null)).toBe(true);
  });

  it('keeps parsing a vast/1 snapshot as vast/1 did: on-demand only', () => {
    const payload = JSON.parse(fixtureBytes('venues/vast/offers.json').toString('utf8')) as unknown;
    const v1 = parserFor('vast/1')!(payload, { default_quantity: 1 });
    const v2 = parserFor('vast/2')!(payload, { default_quantity: 1 });
    // vast/2 stays as it was: no machine on any listing.
    expect(v2.ok && v2.listings.every((l) => l.listing.machine_id === null)).toBe(true);
    expect(v1.ok && v1.listings.map((l) => [l.listing.listing_id, l.listing.contract])).toEqual([
      ['44075905', 'on_demand'],
      ['45136641', 'on_demand'],
      ['45055542', 'on_demand'],
      ['44075906', 'on_demand'],
    ]);
    expect(v2.ok && v2.listings.length).toBe(8);
  });

  it('sends the optional key as a bearer token and filters by configured GPU names', async () => {
    const seen: { body?: unknown; auth?: string | null } = {};
    serve('venues/vast/offers.json', seen);
    const deps = testDeps(t.db, { env: { VAST_API_KEY: 'vast-secret-0123456789' } });
    await collectVenue(deps, vast, venueConfig('vast', { gpu_names: ['H100 SXM', 'H200'], limit: 200 }), testPolicy);
    expect(seen.auth).toBe('Bearer vast-secret-0123456789');
    expect(seen.body).toEqual({ rentable: { eq: true }, type: 'on-demand', limit: 200, gpu_name: { in: ['H100 SXM', 'H200'] } });
  });

  it('skips each bad row with its reason, keeps the good ones and marks the snapshot partial', async () => {
    serve('venues/vast/offers-awkward.json');
    const summary = await collectVenue(testDeps(t.db), vast, venueConfig('vast'), testPolicy);
    expect(summary).toMatchObject({ outcome: 'partial', snapshots: 1, observations: 4 });

    const [snap] = await snapshotsOf(t.db);
    expect(snap).toMatchObject({ parse_outcome: 'partial', rows_total: 9, rows_accepted: 2, rows_rejected: 7, rows_ignored: 0 });
    expect(snap!.parse_error).toMatch(
      /^7 of 9 rows rejected \(row_schema x3, non_positive_price x2, absurd_price x1, invalid_gpu_count x1\); first: row 1 \(900002\)/,
    );

    const obs = await observationsOf(t.db);
    expect(obs.map((o) => [o.listing_id, o.contract, o.available, o.region])).toEqual([
      ['900001', 'on_demand', 1, 'US/Montana'],
      ['900001/bid', 'interruptible', 1, 'US/Montana'],
      ['900009', 'on_demand', 0, 'Norway'],
      ['900009/bid', 'interruptible', 0, 'Norway'],
    ]);
    expect((await issuesOf(t.db)).map((i) => [i.row_index, i.listing_id, i.code, i.detail])).toEqual([
      [1, '900002', 'row_schema', 'dph_total: Invalid input: expected number, received string'],
      [2, '900003', 'row_schema', 'gpu_name: Invalid input: expected string, received undefined'],
      [3, '900004', 'non_positive_price', 'price_usd_per_hour: Too small: expected number to be >0'],
      [4, '900005', 'non_positive_price', 'price_usd_per_hour: Too small: expected number to be >0'],
      [5, '900006', 'absurd_price', 'price_usd_per_hour: absurd price: 99999 USD per GPU-hour is above 1000'],
      [6, '900007', 'invalid_gpu_count', 'gpu_count: Too small: expected number to be >=1'],
      [7, '900008', 'row_schema', 'dph_total: Invalid input: expected number, received string'],
    ]);
  });

  it('rejects a payload whose every row fails, and fails the run loudly', async () => {
    serve('venues/vast/offers-all-bad.json');
    const deps = testDeps(t.db);
    const summary = await collectVenue(deps, vast, venueConfig('vast'), testPolicy);
    expect(summary.outcome).toBe('failed');
    expect(summary.error).toMatch(/^snapshot 1 rejected: 2 of 2 rows rejected \(row_schema x1, invalid_gpu_count x1\)/);
    const [snap] = await snapshotsOf(t.db);
    expect(snap).toMatchObject({ parse_outcome: 'rejected', rows_total: 2, rows_accepted: 0, rows_rejected: 2 });
    expect(deps.lines.some((l) => l.includes('ERROR vast: failed'))).toBe(true);
  });

  it.each([
    ['Montana, US', 'US/Montana'],
    [', US', 'US'],
    ['Norway', 'Norway'],
    ['Quebec, Montreal, CA', 'CA/Quebec, Montreal'],
    ['', null],
    [null, null],
  ])('normalizes geolocation %j to region %j', (geo, region) => {
    expect(vastRegion(geo)).toBe(region);
  });
});
