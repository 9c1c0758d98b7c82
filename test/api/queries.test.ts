import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningServer } from '../../src/api/server.js';
import { memoryLogger } from '../../src/log/index.js';
import { publishMarketFixture, DIALECTS, tempDb, testSigner, type TempDb } from '../helpers.js';

// Published at NOW (three dates, 41 series each: ids 1 .. 123), then 2026-11-19 restated at NOW + 60 s (ids 124 ..
// 126, in catalogue order with the composite last: GPUIDX-H100-SXM, GPUIDX-H100-SXM-SPOT, GPUIDX-COMPUTE; COMPUTE
// 2.323 -> 2.222).
const NOW = Date.UTC(2026, 10, 21, 0, 40);
const BETWEEN = new Date(NOW + 30_000).toISOString(); // 2026-11-21T00:40:30.000Z

describe.each(DIALECTS)('%s', (dialect) => {
  let t: TempDb;
  let api: RunningServer;
  const get = async (path: string) => {
    const res = await fetch(`${api.url}${path}`);
    return { status: res.status, text: await res.text(), headers: res.headers };
  };
  const getJson = async <T = any>(path: string) => JSON.parse((await get(path)).text) as T;

  beforeAll(async () => {
    t = await tempDb(dialect);
    const _deps = { db: t.db, clock: () => NOW, log: memoryLogger(), signer: testSigner() };
    await publishMarketFixture(t.db, NOW);
    api = await startApi(
      t.db,
      { host: '127.0.0.1', port: 0, max_range_days: 400, health: { max_fixing_age_hours: 50, max_collection_age_minutes: 60 } },
      memoryLogger(),
      () => NOW + 3_600_000,
    );
  });
  afterAll(async () => {
    await api.close();
    await t.cleanup();
  });

  it('serves the cross-section of a date: every series, signed, and as it stood at an instant', async () => {
    const latest = await getJson('/v1/fixings/2026-11-19');
    expect(latest.as_of).toBeNull();
    expect(latest.fixings).toHaveLength(41);
    const compute = latest.fixings.find((f: any) => f.fixing.series === 'GPUIDX-COMPUTE');
    expect([compute.fixing.revision, compute.fixing.value]).toEqual([2, 2.222]);
    // Each entry is the same signed body as the series' own endpoint.
    expect(compute).toEqual(await getJson('/v1/series/GPUIDX-COMPUTE/fixings/2026-11-19'));
    const then = await getJson(`/v1/fixings/2026-11-19?as_of=${BETWEEN}`);
    expect(then.as_of).toBe(BETWEEN);
    const computeThen = then.fixings.find((f: any) => f.fixing.series === 'GPUIDX-COMPUTE');
    expect([computeThen.fixing.revision, computeThen.fixing.value]).toEqual([1, 2.323]);
    const before = await get('/v1/fixings/2026-11-19?as_of=2026-11-21T00:39:59Z');
    expect(before.status).toBe(404);
    expect(JSON.parse(before.text).detail).toBe('no fixing published for 2026-11-19 by 2026-11-21T00:39:59.000Z');
  });

  it('serves the cross-section as CSV, one row per series', async () => {
    const csv = await get('/v1/fixings/2026-11-20?format=csv');
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const lines = csv.text.trim().split('\r\n');
    expect(lines).toHaveLength(42);
    expect(lines[0]).toMatch(/^date,series,value,status,revision,unit,/);
    expect(lines.find((l) => l.startsWith('2026-11-20,GPUIDX-H100-SXM,'))).toMatch(/^2026-11-20,GPUIDX-H100-SXM,2\.244,normal,1,USD per GPU-hour,/);
  });

  it('puts several series side by side, one row per date, and as of an instant', async () => {
    const csv = await get('/v1/history?series=GPUIDX-H100-SXM,GPUIDX-COMPUTE&from=2026-11-18&to=2026-11-20&format=csv');
    expect(csv.text).toBe(['date,GPUIDX-H100-SXM,GPUIDX-COMPUTE', '2026-11-18,2.2,2.3', '2026-11-19,2.222,2.222', '2026-11-20,2.244,2.346', ''].join('\r\n'));
    const then = await getJson(`/v1/history?series=GPUIDX-H100-SXM,GPUIDX-COMPUTE&from=2026-11-18&to=2026-11-20&as_of=${BETWEEN}`);
    expect(then.rows).toEqual([
      { date: '2026-11-18', values: { 'GPUIDX-H100-SXM': 2.2, 'GPUIDX-COMPUTE': 2.3 } },
      { date: '2026-11-19', values: { 'GPUIDX-H100-SXM': 2.222, 'GPUIDX-COMPUTE': 2.323 } },
      { date: '2026-11-20', values: { 'GPUIDX-H100-SXM': 2.244, 'GPUIDX-COMPUTE': 2.346 } },
    ]);
    const unknown = await get('/v1/history?series=GPUIDX-H100-SXM,GPUIDX-NOPE');
    expect([unknown.status, JSON.parse(unknown.text).detail]).toEqual([404, 'unknown series "GPUIDX-NOPE"; GET /v1/series lists them']);
  });

  it('takes as_of on the fixing, latest and history endpoints', async () => {
    expect((await getJson(`/v1/series/GPUIDX-COMPUTE/fixings/2026-11-19?as_of=${BETWEEN}`)).fixing.value).toBe(2.323);
    expect((await getJson('/v1/series/GPUIDX-COMPUTE/fixings/2026-11-19')).fixing.value).toBe(2.222);
    expect((await getJson(`/v1/series/GPUIDX-COMPUTE/fixings/latest?as_of=${BETWEEN}`)).fixing.date).toBe('2026-11-20');
    const history = await getJson(`/v1/series/GPUIDX-COMPUTE/fixings?from=2026-11-18&to=2026-11-20&as_of=${BETWEEN}`);
    expect(history.fixings.map((f: any) => [f.date, f.revision, f.value])).toEqual([
      ['2026-11-18', 1, 2.3],
      ['2026-11-19', 1, 2.323],
      ['2026-11-20', 1, 2.346],
    ]);
    const badFeed = await get('/v1/revisions?since=yesterday');
    expect([badFeed.status, JSON.parse(badFeed.text).detail]).toEqual([400, 'query.since: since is an instant like 2026-11-21T00:00:00Z']);
    const tooMany = await get(`/v1/history?series=${Array.from({ length: 51 }, (_, i) => `GPUIDX-S${i}`).join(',')}`);
    expect([tooMany.status, JSON.parse(tooMany.text).detail]).toEqual([400, '51 series asked for; at most 50 per request']);
    const bad = await get('/v1/series/GPUIDX-COMPUTE/fixings/latest?as_of=yesterday');
    expect([bad.status, JSON.parse(bad.text).detail]).toEqual([400, 'query.as_of: as_of is an instant like 2026-11-21T18:00:00Z']);
  });

  it('feeds new and restated revisions in publication order, paged by a cursor', async () => {
    const first = await getJson('/v1/revisions?since=2026-11-21T00:00:00Z&limit=100');
    expect(first.revisions).toHaveLength(100);
    expect(first.revisions.map((r: any) => r.id)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(first.next).toBe('/v1/revisions?since=2026-11-21T00%3A00%3A00.000Z&after=100&limit=100');
    const second = await getJson(first.next);
    expect(second.revisions.map((r: any) => r.id)).toEqual(Array.from({ length: 26 }, (_, i) => i + 101));
    expect(second.next).toBeNull();
    const restated = await getJson(`/v1/revisions?since=${BETWEEN}`);
    expect(restated.revisions.map((r: any) => [r.id, r.series, r.kind, r.restatement_reason, r.url])).toEqual([
      [124, 'GPUIDX-H100-SXM', 'restatement', 'late partner-d file', '/v1/series/GPUIDX-H100-SXM/fixings/2026-11-19?revision=2'],
      [125, 'GPUIDX-H100-SXM-SPOT', 'restatement', 'late partner-d file', '/v1/series/GPUIDX-H100-SXM-SPOT/fixings/2026-11-19?revision=2'],
      [126, 'GPUIDX-COMPUTE', 'restatement', 'late partner-d file', '/v1/series/GPUIDX-COMPUTE/fixings/2026-11-19?revision=2'],
    ]);
  });

  it('serves audit rows as CSV, filtered by venue and outcome, agreeing with the JSON audit', async () => {
    const all = (await getJson('/v1/series/GPUIDX-H100-SXM/fixings/2026-11-18/audit?limit=1000')).inputs as any[];
    // The filter, done independently here over the unfiltered JSON page.
    const venue = all[0].venue as string;
    const expected = all.filter((r) => r.venue === venue && r.outcome === 'included').map((r) => String(r.observation_id));
    expect(expected.length).toBeGreaterThan(0);
    const csv = await get(`/v1/series/GPUIDX-H100-SXM/fixings/2026-11-18/audit?format=csv&venue=${venue}&outcome=included`);
    const [head, ...rows] = csv.text.trim().split('\r\n');
    expect(head).toBe(
      'observation_id,snapshot_id,venue,fetched_at,listing_id,gpu_raw,gpu_count,price_usd_per_hour,contract,class,outcome,p,f,q,w,w_capped,seq',
    );
    expect(rows.map((r) => r.split(',')[0])).toEqual(expected);
    expect(new Set(rows.map((r) => `${r.split(',')[2]} ${r.split(',')[10]}`))).toEqual(new Set([`${venue} included`]));
    const outliers = all.filter((r) => r.outcome === 'outlier').length;
    expect((await getJson('/v1/series/GPUIDX-H100-SXM/fixings/2026-11-18/audit?outcome=outlier')).inputs).toHaveLength(outliers);
  });

  it("serves each date's venue shares, the same as each fixing's own evidence", async () => {
    const shares = await getJson('/v1/series/GPUIDX-H100-SXM/venue-shares?from=2026-11-18&to=2026-11-20');
    expect(shares.dates.map((d: any) => [d.date, d.revision])).toEqual([
      ['2026-11-18', 1],
      ['2026-11-19', 2],
      ['2026-11-20', 1],
    ]);
    for (const d of shares.dates) {
      const audit = await getJson(`/v1/series/GPUIDX-H100-SXM/fixings/${d.date}/audit?limit=1`);
      expect(d.shares, d.date).toEqual(audit.venue_shares);
    }
    const then = await getJson(`/v1/series/GPUIDX-H100-SXM/venue-shares?from=2026-11-19&to=2026-11-19&as_of=${BETWEEN}`);
    expect(then.dates.map((d: any) => d.revision)).toEqual([1]);
  });

  it("carries the venue shares of the fixing's evidence in the fixing response", async () => {
    const fixing = await getJson('/v1/series/GPUIDX-H100-SXM/fixings/2026-11-18');
    const audit = await getJson('/v1/series/GPUIDX-H100-SXM/fixings/2026-11-18/audit?limit=1');
    expect(fixing.venue_shares).toEqual(audit.venue_shares);
    expect(fixing.venue_shares.length).toBeGreaterThan(0);
  });
});
