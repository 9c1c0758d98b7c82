import { allObservations } from '../../../src/storage/index.js';
import { http, HttpResponse } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectVenue } from '../../../src/collectors/runner.js';
import { lambda } from '../../../src/collectors/venues/lambda.js';
import { fixtureBytes, observationsOf, snapshotsOf, tempDb, testDeps, testPolicy, venueConfig, type TempDb } from '../../helpers.js';
import { JSON_HEADERS, useMsw } from '../../msw.js';

const server = useMsw();
let t: TempDb;
beforeEach(async () => {
  t = await tempDb();
});
afterEach(async () => t.cleanup());

describe('lambda adapter', () => {
  it('converts cents per instance-hour to USD, one listing per region with capacity, sold-out types unavailable', async () => {
    let auth: string | null = null;
    const bytes = fixtureBytes('venues/lambda/instance-types.json');
    server.use(
      http.get('https://cloud.lambdalabs.com/api/v1/instance-types', ({ request }) => {
        auth = request.headers.get('authorization');
        return new HttpResponse(bytes, { headers: JSON_HEADERS });
      }),
    );
    const summary = await collectVenue(testDeps(t.db, { env: { LAMBDA_API_KEY: 'secret_lambda_key_42' } }), lambda, venueConfig('lambda'), testPolicy);
    expect(summary).toMatchObject({ outcome: 'ok', observations: 4 });
    expect(auth).toBe('Bearer secret_lambda_key_42');
    expect(await snapshotsOf(t.db)).toMatchObject([{ rows_total: 4, rows_accepted: 3, rows_ignored: 1, parse_outcome: 'ok' }]);
    // lambda/2 on: memory per GPU, from the description, "A100 (40 GB SXM4)" -> 40.
    expect((await allObservations(t.db)).map((o) => [o.listing_id, o.gpu_memory_gb])).toEqual([
      ['gpu_1x_a100_sxm4', 40],
      ['gpu_1x_h100_pcie@us-west-1', 80],
      ['gpu_8x_h100_sxm5@us-east-3', 80],
      ['gpu_8x_h100_sxm5@us-south-2', 80],
    ]);
    expect(
      (await observationsOf(t.db)).map((o) => [o.listing_id, o.gpu_raw, o.gpu_count, o.price_usd_per_hour, o.available, o.region, o.quantity_reported]),
    ).toEqual([
      ['gpu_1x_a100_sxm4', 'A100 (40 GB SXM4)', 1, 1.29, 0, null, 0],
      ['gpu_1x_h100_pcie@us-west-1', 'H100 (80 GB PCIe)', 1, 2.49, 1, 'us-west-1', 0],
      ['gpu_8x_h100_sxm5@us-east-3', 'H100 (80 GB SXM5)', 8, 23.92, 1, 'us-east-3', 0],
      ['gpu_8x_h100_sxm5@us-south-2', 'H100 (80 GB SXM5)', 8, 23.92, 1, 'us-south-2', 0],
    ]);
  });
});
