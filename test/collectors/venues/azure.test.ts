import { allObservations } from '../../../src/storage/index.js';
import { http, HttpResponse } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectVenue } from '../../../src/collectors/runner.js';
import { azure } from '../../../src/collectors/venues/azure.js';
import { parserFor } from '../../../src/collectors/parsers.js';
import { fixtureBytes, observationsOf, snapshotsOf, tempDb, testDeps, testPolicy, venueConfig, type TempDb } from '../../helpers.js';
import { JSON_HEADERS, useMsw } from '../../msw.js';

const server = useMsw();
let t: TempDb;
beforeEach(async () => {
  t = await tempDb();
});
afterEach(async () => t.cleanup());

describe('azure adapter', () => {
  it('follows NextPageLink, stores each page as its own snapshot, and keeps only Linux hourly GPU meters', async () => {
    const filters: (string | null)[] = [];
    server.use(
      http.get('https://prices.azure.com/api/retail/prices', ({ request }) => {
        const url = new URL(request.url);
        filters.push(url.searchParams.get('$filter'));
        const page = url.searchParams.get('$skip') === '1000' ? 'page2' : 'page1';
        return new HttpResponse(fixtureBytes(`venues/azure/prices-${page}.json`), { headers: JSON_HEADERS });
      }),
    );
    const summary = await collectVenue(testDeps(t.db), azure, venueConfig('azure', { regions: ['westeurope'] }), testPolicy);
    expect(summary).toMatchObject({ outcome: 'ok', snapshots: 2, observations: 5, attempts: 2 });
    expect(filters[0]).toBe(
      "serviceName eq 'Virtual Machines' and armRegionName eq 'westeurope' and (contains(armSkuName,'H100') or contains(armSkuName,'H200') or " +
        "contains(armSkuName,'A100') or contains(armSkuName,'MI300X') or contains(armSkuName,'GB200') or contains(armSkuName,'ND96asr_v4') or " +
        "contains(armSkuName,'NC6s_v3') or contains(armSkuName,'NC12s_v3') or contains(armSkuName,'NC24s_v3') or contains(armSkuName,'NC24rs_v3') or " +
        "contains(armSkuName,'ND40rs_v2') or contains(armSkuName,'T4_v3') or contains(armSkuName,'A10_v5'))",
    );
    const snaps = await snapshotsOf(t.db);
    expect(snaps.map((s) => [s.rows_total, s.rows_accepted, s.rows_ignored, s.parse_outcome])).toEqual([
      [5, 3, 2, 'ok'],
      [5, 2, 3, 'ok'],
    ]);
    expect(snaps[1]!.request_url).toBe(
      'https://prices.azure.com/api/retail/prices?api-version=2023-01-01-preview&$filter=armRegionName%20eq%20%27westeurope%27&$skip=1000',
    );
    expect(
      (await observationsOf(t.db)).map((o) => [
        o.snapshot_id,
        o.listing_id,
        o.gpu_raw,
        o.gpu_count,
        o.price_usd_per_hour,
        o.contract,
        o.region,
        o.quantity_reported,
      ]),
    ).toEqual([
      [1, 'westeurope/Standard_ND96isr_H100_v5/ND96isrH100v5', 'Standard_ND96isr_H100_v5', 8, 132.232, 'on_demand', 'westeurope', 0],
      [1, 'westeurope/Standard_ND96is_noIB_H100_v5/ND96isnIBH100v5', 'Standard_ND96is_noIB_H100_v5', 8, 119.45, 'on_demand', 'westeurope', 0],
      [1, 'westeurope/Standard_ND96isr_H100_v5/ND96isrH100v5 Spot', 'Standard_ND96isr_H100_v5', 8, 21.258283, 'interruptible', 'westeurope', 0],
      [2, 'westeurope/Standard_ND128isr_NDR_GB200_v6/ND128isrNDRGB200v6', 'Standard_ND128isr_NDR_GB200_v6', 4, 146.488, 'on_demand', 'westeurope', 0],
      [2, 'westeurope/Standard_NC40ads_H100_v5/NC40adsH100v5', 'Standard_NC40ads_H100_v5', 1, 6.98, 'on_demand', 'westeurope', 0],
    ]);
  });

  it('reads the real catalogue: both ND A100 v4 spellings, V100, T4 and A10 families with memory, every skipped row with its reason', async () => {
    server.use(
      http.get(
        'https://prices.azure.com/api/retail/prices',
        () => new HttpResponse(fixtureBytes('venues/azure/prices-real-shapes.json'), { headers: JSON_HEADERS }),
      ),
    );
    const summary = await collectVenue(testDeps(t.db), azure, venueConfig('azure', { regions: ['eastus'] }), testPolicy);
    expect(summary).toMatchObject({ outcome: 'ok', snapshots: 1, observations: 6 });
    const [snap] = await snapshotsOf(t.db);
    // 12 items: 6 listings; the other 6 each skipped for its own reason (not one `not_gpu_sku` for all of them).
    expect([snap!.parser_version, snap!.rows_total, snap!.rows_accepted, snap!.rows_ignored]).toEqual(['azure/2', 12, 6, 6]);
    expect(JSON.parse(snap!.ignored_reasons!)).toEqual({ fractional_gpu: 1, low_priority: 1, not_gpu_sku: 1, reservation: 1, windows: 1, zero_price: 1 });
    const rows = await allObservations(t.db);
    expect(rows.map((r) => [r.gpu_raw, r.gpu_count, r.price_usd_per_hour, r.contract, r.gpu_memory_gb])).toEqual([
      ['Standard_ND96amsr_A100_v4', 8, 32.77, 'on_demand', 80],
      ['Standard_ND96ams_A100_v4', 8, 6.5536, 'interruptible', 80], // the spelling without "r", a Spot meter
      ['Standard_ND40rs_v2', 8, 22.032, 'on_demand', 32],
      ['Standard_NC6s_v3', 1, 3.06, 'on_demand', 16],
      ['Standard_NC4as_T4_v3', 1, 0.526, 'on_demand', 16],
      ['Standard_NV36ads_A10_v5', 1, 3.2, 'on_demand', 24],
    ]);
  });

  it('keeps parsing an azure/1 snapshot as azure/1 did, unknown spellings and all', () => {
    const payload = JSON.parse(fixtureBytes('venues/azure/prices-real-shapes.json').toString('utf8')) as unknown;
    const v1 = parserFor('azure/1')!(payload, { default_quantity: 1 });
    // azure/1 knew only the "amsr" spelling of the 12 items' SKUs; reservations were `not_consumption`.
    expect(v1.ok && v1.listings.map((l) => [l.listing.gpu, l.listing.gpu_memory_gb])).toEqual([['Standard_ND96amsr_A100_v4', null]]);
    expect(v1.ok && v1.ignoredReasons).toEqual({ not_gpu_sku: 8, windows: 1, not_consumption: 1, zero_price: 1 });
  });

  it('never follows a NextPageLink to another host', async () => {
    const page = JSON.parse(fixtureBytes('venues/azure/prices-page1.json').toString());
    page.NextPageLink = 'https://attacker.example/steal';
    server.use(http.get('https://prices.azure.com/api/retail/prices', () => HttpResponse.json(page)));
    const summary = await collectVenue(testDeps(t.db), azure, venueConfig('azure', { regions: ['westeurope'] }), testPolicy);
    expect(summary).toMatchObject({ outcome: 'ok', snapshots: 1, attempts: 1 });
  });
});
