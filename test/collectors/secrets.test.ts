// API keys never reach the database, the logs or an error message, even when a venue echoes them back.
import { readFileSync, existsSync } from 'node:fs';
import { http, HttpResponse } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectVenues } from '../../src/collectors/runner.js';
import { lambda } from '../../src/collectors/venues/lambda.js';
import { runpod } from '../../src/collectors/venues/runpod.js';
import { tensordock } from '../../src/collectors/venues/tensordock.js';
import { vast } from '../../src/collectors/venues/vast.js';
import { createRedactor } from '../../src/collectors/redact.js';
import { fixtureBytes, snapshotsOf, tempDb, testDeps, testPolicy, venueConfig, type TempDb } from '../helpers.js';
import { JSON_HEADERS, useMsw } from '../msw.js';

const server = useMsw();
let t: TempDb;
beforeEach(async () => {
  t = await tempDb();
});
afterEach(async () => t.cleanup());

const KEYS = {
  VAST_API_KEY: 'vastKEY_7f3a9c1e5d',
  RUNPOD_API_KEY: 'runpodKEY_2b8e4f6a0c',
  LAMBDA_API_KEY: 'lambdaKEY_9d1c3e5f7b',
  TENSORDOCK_API_KEY: 'tdKEY_4a6c8e0b2d',
};

describe('secrets', () => {
  it('keeps every key out of the database file, the log and the run errors', async () => {
    server.use(
      // A venue that echoes the Authorization header in its error page.
      http.post(
        'https://console.vast.ai/api/v0/bundles/',
        ({ request }) => new HttpResponse(`invalid credentials: ${request.headers.get('authorization')}`, { status: 401 }),
      ),
      http.post('https://api.runpod.io/graphql', ({ request }) =>
        HttpResponse.json({ errors: [{ message: `bad key ${request.headers.get('authorization')?.slice(7)}` }] }),
      ),
      http.get(
        'https://cloud.lambdalabs.com/api/v1/instance-types',
        () => new HttpResponse(fixtureBytes('venues/lambda/instance-types.json'), { headers: JSON_HEADERS }),
      ),
      http.get('https://dashboard.tensordock.com/api/v2/locations', () => HttpResponse.error()),
    );
    const deps = testDeps(t.db, { env: KEYS });
    const summaries = await collectVenues(
      deps,
      [vast, runpod, lambda, tensordock].map((adapter) => ({ adapter, config: venueConfig(adapter.venue as 'vast') })),
      testPolicy,
    );
    expect(summaries.map((s) => s.outcome)).toEqual(['failed', 'failed', 'ok', 'failed']);
    const snaps = await snapshotsOf(t.db);
    // Venues are collected concurrently, so their snapshots are compared in venue order, not arrival order.
    const redacted = snaps.filter((s) => s.redacted === 1).map((s) => [s.venue, s.body.toString()]);
    expect(redacted.sort(([a], [b]) => String(a).localeCompare(String(b)))).toEqual([
      ['runpod', '{"errors":[{"message":"bad key [REDACTED]"}]}'],
      ['vast', 'invalid credentials: Bearer [REDACTED]'],
    ]);
    expect(snaps.find((s) => s.venue === 'runpod')!.parse_error).toBe('venue_error: GraphQL errors: bad key [REDACTED]');

    await t.db.destroy();
    const files = [t.path, `${t.path}-wal`].filter(existsSync).map((f) => readFileSync(f));
    const everything = [...files.map((b) => b.toString('latin1')), ...deps.lines, ...summaries.map((s) => s.error ?? '')].join('\n');
    for (const key of Object.values(KEYS)) expect(everything.includes(key), key).toBe(false);
    expect(everything).toContain('[REDACTED]');
  });

  it('redacts secret-looking query parameters, user info and known key values in URLs', () => {
    const r = createRedactor(['s3cr3t-value']);
    expect(r.url('https://u:p@api.example/x?api_key=abc&token=t&limit=5&q=s3cr3t-value')).toBe(
      'https://%5BREDACTED%5D:%5BREDACTED%5D@api.example/x?api_key=%5BREDACTED%5D&token=%5BREDACTED%5D&limit=5&q=[REDACTED]',
    );
    expect(r.text('Bearer s3cr3t-value and s3cr3t-value')).toBe('Bearer [REDACTED] and [REDACTED]');
    expect(r.containsSecret(Buffer.from('xx s3cr3t-value'))).toBe(true);
    expect(r.containsSecret(Buffer.from('nothing here'))).toBe(false);
  });
});
