// Bad responses never stop collection and lose nothing: every received body is stored, with a recorded reason.
import { delay, http, HttpResponse } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { httpPolicySchema } from '../../src/collectors/http.js';
import { collectVenue, collectVenues } from '../../src/collectors/runner.js';
import { akash } from '../../src/collectors/venues/akash.js';
import { azure } from '../../src/collectors/venues/azure.js';
import { vast } from '../../src/collectors/venues/vast.js';
import { fixtureBytes, snapshotsOf, tempDb, testDeps, testPolicy, venueConfig, type TempDb } from '../helpers.js';
import { JSON_HEADERS, useMsw } from '../msw.js';

const AKASH = 'https://console-api.akash.network/v1/gpu-prices';
const server = useMsw();
let t: TempDb;
beforeEach(async () => {
  t = await tempDb();
});
afterEach(async () => t.cleanup());

const good = () => new HttpResponse(fixtureBytes('venues/akash/gpu-prices.json'), { headers: JSON_HEADERS });

/** Answers with each response in turn. */
function sequence(...responses: (() => Response | Promise<Response>)[]) {
  let i = 0;
  server.use(http.get(AKASH, async () => responses[Math.min(i++, responses.length - 1)]!()));
}

describe('retries', () => {
  it('retries a 503 with exponential backoff and full jitter, storing the error body too', async () => {
    sequence(
      () => new HttpResponse('upstream unavailable (a)', { status: 503 }),
      () => new HttpResponse('upstream unavailable (b)', { status: 503 }),
      good,
    );
    const deps = testDeps(t.db);
    const summary = await collectVenue(deps, akash, venueConfig('akash'), testPolicy);
    expect(summary).toMatchObject({ outcome: 'ok', attempts: 3, snapshots: 3, observations: 3 });
    // random() = 0.5: half of 1000 ms, then half of 2000 ms.
    expect(deps.sleeps).toEqual([500, 1000]);
    const snaps = await snapshotsOf(t.db);
    expect(snaps.map((s) => [s.http_status, s.parse_outcome, s.parse_error])).toEqual([
      [503, 'rejected', 'http_error: HTTP 503: upstream unavailable (a)'],
      [503, 'rejected', 'http_error: HTTP 503: upstream unavailable (b)'],
      [200, 'ok', null],
    ]);
    // One run is one sample of the venue: its snapshots share the run's start instant.
    expect(new Set(snaps.map((s) => s.fetched_at)).size).toBe(1);
  });

  it('honours Retry-After on a 429', async () => {
    sequence(() => new HttpResponse('slow down', { status: 429, headers: { 'retry-after': '7' } }), good);
    const deps = testDeps(t.db);
    const summary = await collectVenue(deps, akash, venueConfig('akash'), testPolicy);
    expect(summary).toMatchObject({ outcome: 'ok', attempts: 2 });
    expect(deps.sleeps).toEqual([7000]);
  });

  it('gives up on a 429 whose Retry-After exceeds the configured maximum', async () => {
    sequence(() => new HttpResponse('come back tomorrow', { status: 429, headers: { 'retry-after': '86400' } }));
    const policy = httpPolicySchema.parse({ ...testPolicy, retry_after_max_ms: 60_000 });
    const summary = await collectVenue(testDeps(t.db), akash, venueConfig('akash'), policy);
    expect(summary).toMatchObject({ outcome: 'failed', attempts: 1 });
    expect(summary.error).toBe(`GET ${AKASH}: HTTP 429; Retry-After 86400000 ms exceeds 60000 ms`);
  });

  it('never retries a 4xx other than 429', async () => {
    sequence(() => HttpResponse.json({ error: 'forbidden' }, { status: 403 }), good);
    const deps = testDeps(t.db);
    const summary = await collectVenue(deps, akash, venueConfig('akash'), testPolicy);
    expect(summary).toMatchObject({ outcome: 'failed', attempts: 1, snapshots: 1 });
    expect(summary.error).toBe(`GET ${AKASH}: HTTP 403 is not retried`);
    expect(deps.sleeps).toEqual([]);
  });

  it('retries network errors and gives up after max_attempts', async () => {
    sequence(() => HttpResponse.error());
    const deps = testDeps(t.db);
    const summary = await collectVenue(deps, akash, venueConfig('akash'), testPolicy);
    expect(summary).toMatchObject({ outcome: 'failed', attempts: 3, snapshots: 0 });
    expect(summary.error).toBe(`GET ${AKASH}: TypeError: Failed to fetch; gave up after 3 attempts`);
    expect(deps.sleeps).toEqual([500, 1000]);
    expect(await t.db.selectFrom('collector_runs').select(['outcome', 'attempts', 'error']).execute()).toEqual([
      { outcome: 'failed', attempts: 3, error: summary.error },
    ]);
  });

  it('times out a venue that never finishes answering', async () => {
    server.use(
      http.get(AKASH, async () => {
        await delay('infinite');
        return good();
      }),
    );
    const policy = httpPolicySchema.parse({ ...testPolicy, total_timeout_ms: 150, max_attempts: 2 });
    const summary = await collectVenue(testDeps(t.db), akash, venueConfig('akash'), policy);
    expect(summary).toMatchObject({ outcome: 'failed', attempts: 2 });
    expect(summary.error).toBe(`GET ${AKASH}: timeout: no complete response within 150 ms; gave up after 2 attempts`);
  });
});

describe('bad bodies are stored and marked with a reason', () => {
  it.each([
    [
      'an HTML error page behind a 200',
      () => new HttpResponse(fixtureBytes('venues/common/maintenance-200.html'), { headers: { 'content-type': 'text/html' } }),
      "html_error_page: expected JSON, got an HTML page: <!DOCTYPE html> <html><head><title>Scheduled maintenance</title></head> <body><h1>We'll be back soon</h1><p>The console ...",
      fixtureBytes('venues/common/maintenance-200.html'),
    ],
    [
      'truncated JSON',
      () => new HttpResponse(fixtureBytes('venues/common/truncated-json.txt'), { headers: JSON_HEADERS }),
      'not_json: body is not valid JSON (Expected \',\' or \'}\' after property value in JSON at position 69): {"offers":[{"id":1,"gpu_name":"H100 SXM","num_gpus":1,"dph_total":1.9',
      fixtureBytes('venues/common/truncated-json.txt'),
    ],
    ['an empty body', () => new HttpResponse('', { headers: JSON_HEADERS }), 'empty_body: the response body is empty', Buffer.alloc(0)],
    [
      'JSON of the wrong shape (schema change)',
      () => HttpResponse.json({ gpus: [] }),
      'schema_mismatch: models: Invalid input: expected array, received undefined',
      Buffer.from('{"gpus":[]}'),
    ],
  ])('%s', async (_name, respond, error, served) => {
    sequence(respond);
    const summary = await collectVenue(testDeps(t.db), akash, venueConfig('akash'), testPolicy);
    expect(summary.outcome).toBe('failed');
    const [snap] = await snapshotsOf(t.db);
    expect(snap!.parse_outcome).toBe('rejected');
    expect(snap!.parse_error).toBe(error);
    // The exact bytes served are kept, whatever they are.
    expect([snap!.byte_size, Buffer.compare(snap!.body, served)]).toEqual([served.byteLength, 0]);
  });

  it('caps a huge body, keeps its first bytes and marks it truncated', async () => {
    const huge = Buffer.alloc(300_000, 0x20);
    sequence(() => new HttpResponse(huge, { headers: JSON_HEADERS }));
    const policy = httpPolicySchema.parse({ ...testPolicy, max_body_bytes: 65_536 });
    const summary = await collectVenue(testDeps(t.db), akash, venueConfig('akash'), policy);
    expect(summary.outcome).toBe('failed');
    const [snap] = await snapshotsOf(t.db);
    expect(snap).toMatchObject({
      byte_size: 65_536,
      truncated: 1,
      parse_outcome: 'rejected',
      parse_error: 'body_too_large: body exceeded the size cap; the first 65536 bytes are stored',
    });
    expect(Buffer.compare(snap!.body, huge.subarray(0, 65_536))).toBe(0);
  });
});

describe('isolation', () => {
  it('one failing venue never affects another', async () => {
    server.use(
      http.post(
        'https://console.vast.ai/api/v0/bundles/',
        () => new HttpResponse(fixtureBytes('venues/common/cloudflare-502.html'), { status: 502, headers: { 'content-type': 'text/html' } }),
      ),
      http.get(AKASH, good),
      http.get('https://prices.azure.com/api/retail/prices', () => HttpResponse.error()),
    );
    const summaries = await collectVenues(
      testDeps(t.db),
      [
        { adapter: vast, config: venueConfig('vast') },
        { adapter: akash, config: venueConfig('akash') },
        { adapter: azure, config: venueConfig('azure', { regions: ['eastus'] }) },
      ],
      testPolicy,
    );
    expect(summaries.map((s) => [s.venue, s.outcome, s.observations])).toEqual([
      ['vast', 'failed', 0],
      ['akash', 'ok', 3],
      ['azure', 'failed', 0],
    ]);
    // Vast's 502 page is stored as evidence of the outage; the three identical pages of one run are one snapshot.
    const vastSnaps = (await snapshotsOf(t.db)).filter((s) => s.venue === 'vast');
    expect(vastSnaps.map((s) => [s.http_status, s.parse_outcome])).toEqual([[502, 'rejected']]);
    expect(summaries[0]!.attempts).toBe(3);
  });
});
