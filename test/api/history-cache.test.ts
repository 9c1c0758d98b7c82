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

    it('sends the body gzip-compressed to a client that accepts gzip, and as is to one that refuses it', async () => {
      const plain = await (await fetch(`${url}${HISTORY}`, { headers: { 'accept-encoding': 'identity' } })).text();
      // undici's fetch decodes gzip itself; node:http shows the encoded bytes, so read them raw here.
      const { request } = await import('node:http');
      const raw = await new Promise<{ encoding: string | undefined; bytes: Buffer }>((resolve, reject) => {
        request(`${url}${HISTORY}`, { headers: { 'accept-encoding': 'br;q=1, gzip;q=0.8' } }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], bytes: Buffer.concat(parts) }));
        })
          .on('error', reject)
          .end();
      });
      expect(raw.encoding).toBe('gzip');
      expect(gunzipSync(raw.bytes).toString()).toBe(plain);
      const refused = await fetch(`${url}${HISTORY}`, { headers: { 'accept-encoding': 'gzip;q=0' } });
      expect([refused.headers.get('content-encoding'), await refused.text()]).toEqual([null, plain]);
      const csv = await fetch(`${url}${HISTORY}&format=csv`, { headers: { 'accept-encoding': 'identity' } });
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect((await csv.text()).split('\n')[0]).toMatch(/^date,/);
    });
  });
});
