import { allObservations } from '../../../src/storage/index.js';
import { http, HttpResponse } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectVenue } from '../../../src/collectors/runner.js';
import { akash } from '../../../src/collectors/venues/akash.js';
import { fixtureBytes, observationsOf, snapshotsOf, tempDb, testDeps, testPolicy, venueConfig, type TempDb } from '../../helpers.js';
import { JSON_HEADERS, useMsw } from '../../msw.js';

const server = useMsw();
let t: TempDb;
beforeEach(async () => {
  t = await tempDb();
});
afterEach(async () => t.cleanup());

describe('akash adapter', () => {
  it('uses the bid-weighted average per GPU-hour times available GPUs, and ignores models without bids', async () => {
    const bytes = fixtureBytes('venues/akash/gpu-prices.json');
    server.use(http.get('https://console-api.akash.network/v1/gpu-prices', () => new HttpResponse(bytes, { headers: JSON_HEADERS })));
    const summary = await collectVenue(testDeps(t.db), akash, venueConfig('akash'), testPolicy);
    expect(summary).toMatchObject({ outcome: 'ok', observations: 3 });
    expect(await snapshotsOf(t.db)).toMatchObject([{ rows_total: 4, rows_accepted: 3, rows_ignored: 1, parse_outcome: 'ok' }]);
    // akash/2 on: memory per GPU, from `ram`, "80Gi" -> 80.
    expect((await allObservations(t.db)).map((o) => [o.listing_id, o.gpu_memory_gb])).toEqual([
      ['nvidia/h100/80Gi/SXM5', 80],
      ['nvidia/a100/80Gi/PCIe', 80],
      ['nvidia/rtx4090/24Gi/PCIe', 24],
    ]);
    expect((await observationsOf(t.db)).map((o) => [o.listing_id, o.gpu_raw, o.gpu_count, o.price_usd_per_hour, o.available, o.quantity_reported])).toEqual([
      ['nvidia/h100/80Gi/SXM5', 'nvidia h100 80Gi SXM5', 12, 18.96, 1, 1],
      ['nvidia/a100/80Gi/PCIe', 'nvidia a100 80Gi PCIe', 1, 0.97, 0, 0],
      ['nvidia/rtx4090/24Gi/PCIe', 'nvidia rtx4090 24Gi PCIe', 33, 10.23, 1, 1],
    ]);
  });
});
