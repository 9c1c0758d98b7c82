import { allObservations } from '../../../src/storage/index.js';
import { http, HttpResponse } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectVenue } from '../../../src/collectors/runner.js';
import { RUNPOD_QUERY, runpod } from '../../../src/collectors/venues/runpod.js';
import { fixtureBytes, observationsOf, snapshotsOf, tempDb, testDeps, testPolicy, venueConfig, type TempDb } from '../../helpers.js';
import { JSON_HEADERS, useMsw } from '../../msw.js';

const server = useMsw();
const KEY = 'rp_live_5b1f0e9a77c2';
let t: TempDb;
beforeEach(async () => {
  t = await tempDb();
});
afterEach(async () => t.cleanup());

function serve(fixture: string, seen: { body?: unknown; auth?: string | null } = {}) {
  const bytes = fixtureBytes(fixture);
  server.use(
    http.post('https://api.runpod.io/graphql', async ({ request }) => {
      seen.body = await request.json();
      seen.auth = request.headers.get('authorization');
      return new HttpResponse(bytes, { headers: JSON_HEADERS });
    }),
  );
}

describe('runpod adapter', () => {
  it('turns each offered tier into a per-GPU listing with the default quantity, and ignores tiers priced 0', async () => {
    const seen: { body?: unknown; auth?: string | null } = {};
    serve('venues/runpod/gputypes.json', seen);
    const summary = await collectVenue(testDeps(t.db, { env: { RUNPOD_API_KEY: KEY } }), runpod, venueConfig('runpod'), testPolicy);
    expect(summary).toMatchObject({ outcome: 'ok', snapshots: 1, observations: 10 });
    expect(seen).toEqual({ body: { query: RUNPOD_QUERY }, auth: `Bearer ${KEY}` });
    expect(await snapshotsOf(t.db)).toMatchObject([{ parse_outcome: 'ok', rows_total: 6, rows_accepted: 4, rows_ignored: 2, parser_version: 'runpod/2' }]);
    // runpod/2 on: memory per GPU, from `memoryInGb`.
    expect((await allObservations(t.db)).map((o) => [o.listing_id, o.gpu_memory_gb])).toEqual([
      ['NVIDIA H100 80GB HBM3/secure', 80],
      ['NVIDIA H100 80GB HBM3/community', 80],
      ['NVIDIA H100 80GB HBM3/secure-spot', 80],
      ['NVIDIA H100 80GB HBM3/community-spot', 80],
      ['NVIDIA A100-SXM4-40GB/community', 40],
      ['NVIDIA GeForce RTX 4090/secure', 24],
      ['NVIDIA GeForce RTX 4090/community', 24],
      ['NVIDIA GeForce RTX 4090/community-spot', 24],
      ['NVIDIA H100 PCIe/secure', 80],
      ['NVIDIA H100 PCIe/community', 80],
    ]);

    const rows = (await observationsOf(t.db)).map((o) => [
      o.listing_id,
      o.gpu_raw,
      o.gpu_count,
      o.price_usd_per_hour,
      o.contract,
      o.available,
      o.quantity_reported,
    ]);
    expect(rows).toEqual([
      ['NVIDIA H100 80GB HBM3/secure', 'NVIDIA H100 80GB HBM3', 1, 2.99, 'on_demand', 1, 0],
      ['NVIDIA H100 80GB HBM3/community', 'NVIDIA H100 80GB HBM3', 1, 2.69, 'on_demand', 1, 0],
      ['NVIDIA H100 80GB HBM3/secure-spot', 'NVIDIA H100 80GB HBM3', 1, 1.75, 'interruptible', 1, 0],
      ['NVIDIA H100 80GB HBM3/community-spot', 'NVIDIA H100 80GB HBM3', 1, 1.45, 'interruptible', 1, 0],
      ['NVIDIA A100-SXM4-40GB/community', 'NVIDIA A100-SXM4-40GB', 1, 1, 'on_demand', 0, 0],
      ['NVIDIA GeForce RTX 4090/secure', 'NVIDIA GeForce RTX 4090', 1, 0.69, 'on_demand', 0, 0],
      ['NVIDIA GeForce RTX 4090/community', 'NVIDIA GeForce RTX 4090', 1, 0.34, 'on_demand', 0, 0],
      ['NVIDIA GeForce RTX 4090/community-spot', 'NVIDIA GeForce RTX 4090', 1, 0.2, 'interruptible', 0, 0],
      ['NVIDIA H100 PCIe/secure', 'NVIDIA H100 PCIe', 1, 2.89, 'on_demand', 0, 0],
      ['NVIDIA H100 PCIe/community', 'NVIDIA H100 PCIe', 1, 1.99, 'on_demand', 0, 0],
    ]);
  });

  it('scales whole-listing price and GPU count by the configured default quantity', async () => {
    serve('venues/runpod/gputypes.json');
    await collectVenue(testDeps(t.db, { env: { RUNPOD_API_KEY: KEY } }), runpod, venueConfig('runpod', { default_quantity: 4 }), testPolicy);
    const obs = await observationsOf(t.db);
    expect(obs.slice(0, 2).map((o) => [o.gpu_count, o.price_usd_per_hour])).toEqual([
      [4, 11.96],
      [4, 10.76],
    ]);
    expect((await snapshotsOf(t.db))[0]!.parser_options).toBe('{"default_quantity":4,"strip_bom":true}');
  });

  it('rejects a GraphQL error answered with HTTP 200 and names the error', async () => {
    serve('venues/runpod/graphql-error.json');
    const summary = await collectVenue(testDeps(t.db, { env: { RUNPOD_API_KEY: KEY } }), runpod, venueConfig('runpod'), testPolicy);
    expect(summary.outcome).toBe('failed');
    expect(await snapshotsOf(t.db)).toMatchObject([{ parse_outcome: 'rejected', parse_error: 'venue_error: GraphQL errors: Unauthorized', http_status: 200 }]);
  });

  it('is skipped with one log line and a recorded run when RUNPOD_API_KEY is not set', async () => {
    const deps = testDeps(t.db);
    const summary = await collectVenue(deps, runpod, venueConfig('runpod'), testPolicy);
    expect(summary).toMatchObject({ outcome: 'skipped', attempts: 0, error: 'RUNPOD_API_KEY is not set' });
    expect(deps.lines).toEqual(['1970-01-01T00:00:00.000Z WARN  runpod: skipped, RUNPOD_API_KEY is not set']);
    expect(await t.db.selectFrom('collector_runs').select(['venue', 'outcome', 'error']).execute()).toEqual([
      { venue: 'runpod', outcome: 'skipped', error: 'RUNPOD_API_KEY is not set' },
    ]);
    expect(await snapshotsOf(t.db)).toEqual([]);
  });
});
