import { allObservations } from '../../../src/storage/index.js';
import { http, HttpResponse } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectVenue } from '../../../src/collectors/runner.js';
import { tensordock } from '../../../src/collectors/venues/tensordock.js';
import { fixtureBytes, issuesOf, observationsOf, snapshotsOf, tempDb, testDeps, testPolicy, venueConfig, type TempDb } from '../../helpers.js';
import { JSON_HEADERS, useMsw } from '../../msw.js';

const server = useMsw();
let t: TempDb;
beforeEach(async () => {
  t = await tempDb();
});
afterEach(async () => t.cleanup());

describe('tensordock adapter', () => {
  it('prices a listing as per-GPU price times deployable GPUs per location, and skips a row with a string price', async () => {
    const bytes = fixtureBytes('venues/tensordock/locations.json');
    server.use(http.get('https://dashboard.tensordock.com/api/v2/locations', () => new HttpResponse(bytes, { headers: JSON_HEADERS })));
    const summary = await collectVenue(testDeps(t.db, { env: { TENSORDOCK_API_KEY: 'td-token-abcdef' } }), tensordock, venueConfig('tensordock'), testPolicy);
    expect(summary).toMatchObject({ outcome: 'partial', observations: 3 });
    expect(await snapshotsOf(t.db)).toMatchObject([{ parse_outcome: 'partial', rows_total: 4, rows_accepted: 3, rows_rejected: 1 }]);
    // tensordock/2 on: memory per GPU, from the name suffix, "h100-sxm5-80gb" -> 80.
    expect((await allObservations(t.db)).map((o) => [o.listing_id, o.gpu_memory_gb])).toEqual([
      ['1b1f2c3d-0000-4e6a-9f00-0000000000a1/h100-sxm5-80gb', 80],
      ['1b1f2c3d-0000-4e6a-9f00-0000000000a1/geforcertx4090-pcie-24gb', 24],
      ['7c2e9a10-0000-4b1d-8c00-0000000000b2/a100-pcie-80gb', 80],
    ]);
    expect(
      (await observationsOf(t.db)).map((o) => [o.listing_id, o.gpu_raw, o.gpu_count, o.price_usd_per_hour, o.available, o.region, o.quantity_reported]),
    ).toEqual([
      ['1b1f2c3d-0000-4e6a-9f00-0000000000a1/h100-sxm5-80gb', 'h100-sxm5-80gb', 8, 18, 1, 'United States/Illinois/Chicago', 1],
      ['1b1f2c3d-0000-4e6a-9f00-0000000000a1/geforcertx4090-pcie-24gb', 'geforcertx4090-pcie-24gb', 1, 0.37, 0, 'United States/Illinois/Chicago', 0],
      ['7c2e9a10-0000-4b1d-8c00-0000000000b2/a100-pcie-80gb', 'a100-pcie-80gb', 2, 1.5, 1, 'Finland/Helsinki', 1],
    ]);
    expect(await issuesOf(t.db)).toEqual([
      {
        snapshot_id: 1,
        row_index: 3,
        listing_id: '7c2e9a10-0000-4b1d-8c00-0000000000b2/l40-pcie-48gb',
        code: 'row_schema',
        detail: 'gpu.price_per_hr: Invalid input: expected number, received string',
      },
    ]);
  });
});
