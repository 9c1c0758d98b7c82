// History bodies are built once per publication and served from memory: the same bytes and ETag until a new
// revision is published (here by the fixer, as another process would), gzip once for clients that accept it.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { importFile } from '../../src/collectors/import.js';
import { fixDate } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import { DIALECTS, FIXTURES, tempDb, testSigner, type TempDb } from '../helpers.js';

// One suite, every database gpuidx runs on.
describe.each(DIALECTS)('%s', (dialect) => {
  const NOW = Date.UTC(2026, 10, 21, 0, 40);
  const HISTORY = '/v1/series/GPUIDX-H100-SXM/fixings?from=2026-11-18&to=2026-11-20';
  let t: TempDb;
  let server: ServerType;
  let url: string;
  const deps = () => ({ db: t.db, clock: () => NOW, log: memoryLogger(), signer: testSigner() });

  beforeAll(async () => {
    t = await tempDb(dialect);
    await importFile(deps(), join(FIXTURES, 'market', 'three-days.jsonl'));
    for (const date of ['2026-11-18', '2026-11-19', '2026-11-20']) await fixDate(deps(), { date });
    // TTL 0: the publication generation is read on every request, so a new revision shows at once.
    const app = createApp({ db: t.db, clock: () => NOW, latestTtlMs: 0 });
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await t.cleanup();
  });

  interface History {
    fixings: { date: string; revision: number; value: number }[];
  }

  describe('history served once per publication', () => {
    it('serves the same bytes and ETag until a restatement, then the new revision', async () => {
      const first = await fetch(`${url}${HISTORY}`);
      const firstText = await first.text();
      const tag = first.headers.get('etag');
      expect((JSON.parse(firstText) as History).fixings.map((f) => [f.date, f.revision, f.value])).toEqual([
        ['2026-11-18', 1, 2.2],
        ['2026-11-19', 1, 2.222],
        ['2026-11-20', 1, 2.244],
      ]);
      const again = await fetch(`${url}${HISTORY}`);
      expect([again.headers.get('etag'), await again.text()]).toEqual([tag, firstText]);
      expect((await fetch(`${url}${HISTORY}`, { headers: { 'if-none-match': tag! } })).status).toBe(304);

      // A partner's late file restates 2026-11-19 (revision 2, same value 2.222 but a new input digest).
      await importFile(deps(), join(FIXTURES, 'market', 'late-2026-11-19.jsonl'));
      await fixDate({ ...deps(), clock: () => NOW + 60_000 }, { date: '2026-11-19', restate: { reason: 'late partner-d file' } });
      const after = await fetch(`${url}${HISTORY}`);
      expect(after.headers.get('etag')).not.toBe(tag);
      expect(((await after.json()) as History).fixings.map((f) => [f.date, f.revision])).toEqual([
        ['2026-11-18', 1],
        ['2026-11-19', 2],
        ['2026-11-20', 1],
      ]);
    });

    /** A GET read with node:http, which shows the encoded bytes (undici's fetch decodes gzip itself). */
    const raw = async (path: string, headers: Record<string, string>) => {
      const { request } = await import('node:http');
      return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: Buffer }>((resolve, reject) => {
        request(`${url}${path}`, { headers }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, bytes: Buffer.concat(parts) }));
        })
          .on('error', reject)
          .end();
      });
    };

    // Every body built once per publication (and health's, once per check) is compressed once too, when over 1 KB.
    it.each([
      ['one series history', HISTORY],
      ['cross-section', '/v1/fixings/2026-11-20'],
      ['health', '/v1/health'],
    ])('sends the %s gzip-compressed to a client that accepts gzip, under its own strong ETag, and as is to one that refuses it', async (_, path) => {
      const plain = await raw(path, { 'accept-encoding': 'identity' });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.bytes.length).toBeGreaterThan(1024);
      const gz = await raw(path, { 'accept-encoding': 'br;q=1, gzip;q=0.8' });
      expect([gz.status, gz.headers['content-encoding'], gz.headers.vary]).toEqual([plain.status, 'gzip', 'Accept, Accept-Encoding']);
      expect(gunzipSync(gz.bytes).equals(plain.bytes)).toBe(true);
      // Two representations, two strong ETags: a cache never serves compressed bytes for the identity ETag.
      const tags = [plain.headers.etag, gz.headers.etag] as string[];
      expect(tags[1]).toBe(`${tags[0]!.slice(0, -1)}-gzip"`);
      expect(tags.every((tag) => /^"[0-9a-f]{40}(-gzip)?"$/.test(tag))).toBe(true);
      if (plain.status === 200) {
        const revalidated = await raw(path, { 'accept-encoding': 'gzip', 'if-none-match': tags[1]! });
        expect([revalidated.status, revalidated.bytes.length]).toEqual([304, 0]);
      }
      const refused = await raw(path, { 'accept-encoding': 'gzip;q=0' });
      expect([refused.headers['content-encoding'], refused.bytes.equals(plain.bytes)]).toEqual([undefined, true]);
    });

    it.each([
      ['one series history as CSV (685 bytes)', `${HISTORY}&format=csv`],
      ['several series side by side as CSV (under 200 bytes)', '/v1/history?series=GPUIDX-H100-SXM,GPUIDX-COMPUTE&from=2026-11-18&to=2026-11-20&format=csv'],
    ])('sends the %s as is even to a client that accepts gzip: under 1 KB compression saves nothing worth a round of inflate', async (_, path) => {
      const plain = await raw(path, { 'accept-encoding': 'identity' });
      const offered = await raw(path, { 'accept-encoding': 'gzip' });
      expect(plain.bytes.length).toBeLessThan(1024);
      expect([offered.headers['content-encoding'], offered.headers.etag, offered.bytes.equals(plain.bytes)]).toEqual([undefined, plain.headers.etag, true]);
    });

    it('serves history as CSV with its media type', async () => {
      const csv = await fetch(`${url}${HISTORY}&format=csv`, { headers: { 'accept-encoding': 'identity' } });
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect((await csv.text()).split('\n')[0]).toMatch(/^date,/);
    });
  });
});
