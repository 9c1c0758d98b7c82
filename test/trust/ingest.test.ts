// Ingestion under hostile or broken input: re-imports in another transport form, impossible times, endless lines,
// snapshots an older version left pending, a parser that throws, and a venue echoing our key in disguise.
import { writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { verifyDatabase } from '../../src/audit/verify.js';
import { importFile } from '../../src/collectors/import.js';
import { ingestBody, sha256Hex } from '../../src/collectors/ingest.js';
import { createRedactor } from '../../src/collectors/redact.js';
import { recoverSnapshots } from '../../src/collectors/recover.js';
import { memoryLogger } from '../../src/log/index.js';
import { insertRawSnapshot, snapshotWatermark } from '../../src/storage/index.js';
import { DIALECTS, forge, FIXTURES, fixtureBytes, observationsOf, snapshotsOf, tempDb, type TempDb } from '../helpers.js';

// One suite, every database gpuidx runs on.
describe.each(DIALECTS)('%s', (dialect) => {
  let t: TempDb;
  beforeEach(async () => {
    t = await tempDb(dialect);
  });
  afterEach(async () => t.cleanup());

  const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
  const deps = (over: { maxLineBytes?: number } = {}) => ({ db: t.db, clock: () => NOW, log: memoryLogger(), ...over });
  const sample = () => fixtureBytes('generic/sample.jsonl').toString('utf8').split('\n').filter(Boolean);

  describe('duplicates by content', () => {
    it('stores nothing new when the same snapshots come again with CRLF line endings, a BOM and extra JSON whitespace', async () => {
      await importFile(deps(), join(FIXTURES, 'generic/sample.jsonl'));
      const variant = join(t.dir, 'variant.jsonl');
      // Same content, other bytes: BOM, CRLF, a space before every key (the sample's strings hold no `{"` or `,"`).
      writeFileSync(
        variant,
        `\ufeff${sample()
          .map((l) => l.replace(/([{,])"/g, '$1 "'))
          .join('\r\n')}\r\n`,
      );
      const again = await importFile(deps(), variant);
      expect(again).toEqual({ lines: 2, snapshots: 0, duplicates: 2, observations: 0, partial: 0, rejected: 0, oversized: 0 });
      expect((await snapshotsOf(t.db)).length).toBe(2);
      expect((await observationsOf(t.db)).length).toBe(3);
    });

    it('parses a BOM-led first line and keeps the received bytes, BOM included', async () => {
      const file = join(t.dir, 'bom.jsonl');
      writeFileSync(file, `\ufeff${sample().join('\n')}\n`);
      expect(await importFile(deps(), file)).toMatchObject({ snapshots: 2, rejected: 0, observations: 3 });
      const [first] = await snapshotsOf(t.db);
      expect([...first!.body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      expect(first!.sha256).toBe(sha256Hex(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(sample()[0]!)])));
    });
  });

  describe('claimed times', () => {
    it('rejects fetched_at in the future, before 2000, or beyond any date, filing the line at its receipt time', async () => {
      const file = join(t.dir, 'times.jsonl');
      const line = (fetchedAt: number | string) =>
        JSON.stringify({
          venue: 'partner-x',
          fetched_at: fetchedAt,
          listings: [{ listing_id: 'x', gpu: 'H100 SXM', gpu_count: 1, price_usd_per_hour: 2, contract: 'on_demand', available: true }],
        });
      // NOW + 4 min is within the 5-minute skew allowance; the others are not.
      writeFileSync(file, [line('2099-01-01T00:00:00Z'), line(9e15), line('1999-12-31T23:59:59Z'), line(NOW + 4 * 60_000)].join('\n'));
      expect(await importFile(deps(), file)).toMatchObject({ snapshots: 4, rejected: 3 });
      const snaps = await snapshotsOf(t.db);
      expect(snaps.map((s) => [s.fetched_at, s.parse_outcome, s.parse_error?.split(' (')[0]])).toEqual([
        [NOW, 'rejected', 'fetched_at_out_of_range: fetched_at 2099-01-01T00:00:00.000Z is in the future'],
        [NOW, 'rejected', 'fetched_at_out_of_range: fetched_at 9000000000000000 is in the future'],
        [NOW, 'rejected', 'fetched_at_out_of_range: fetched_at 946684799000 is before 2000-01-01'],
        [NOW + 4 * 60_000, 'ok', undefined],
      ]);
      // The API answers for every one of them; health is not made green by a claimed future.
      const app = createApp({ db: t.db, clock: () => NOW, health: { max_fixing_age_hours: 50, max_collection_age_minutes: 60 } });
      for (const s of snaps) expect((await app.request(`/v1/snapshots/${s.id}`)).status).toBe(200);
      const health = (await (await app.request('/v1/health')).json()) as { problems: string[] };
      expect(health.problems).toEqual(['no fixing published yet']);
    });
  });

  describe('long lines', () => {
    it('streams past a 200 MB line over the cap without holding it, and stores the lines around it', async () => {
      const file = join(t.dir, 'long.jsonl');
      const [a, b] = sample();
      const fd = openSync(file, 'w');
      writeSync(fd, `${a}\n{"venue":"partner-z","fetched_at":1,"listings":["`);
      const block = Buffer.alloc(1 << 20, 'x');
      for (let i = 0; i < 200; i++) writeSync(fd, block);
      writeSync(fd, `"]}\n${b}\n`);
      closeSync(fd);
      const summary = await importFile(deps({ maxLineBytes: 64 << 20 }), file);
      expect(summary).toEqual({ lines: 3, snapshots: 2, duplicates: 0, observations: 3, partial: 0, rejected: 0, oversized: 1 });
    }, 120_000);

    it('stores a line below the cap whole, byte for byte, however many read chunks it spans', async () => {
      const file = join(t.dir, 'wide.jsonl');
      const listings = Array.from({ length: 40_000 }, (_, i) => ({
        listing_id: `w-${i}`,
        gpu: 'H100 SXM',
        gpu_count: 1,
        price_usd_per_hour: 2,
        contract: 'on_demand',
        available: true,
      }));
      const wide = JSON.stringify({ venue: 'partner-w', fetched_at: '2026-11-20T00:00:00Z', listings });
      expect(Buffer.byteLength(wide)).toBeGreaterThan(3 << 20); // several 1 MiB read chunks
      writeFileSync(file, `${wide}\n`);
      expect(await importFile(deps(), file)).toMatchObject({ snapshots: 1, observations: 40_000 });
      expect((await snapshotsOf(t.db))[0]!.body.toString('utf8')).toBe(wide);
    });
  });

  /** Stores a line's bytes `pending`, as versions before crash-safe ingestion did before their separate parse step. */
  async function storePendingAsOlderVersionsDid(line: string): Promise<void> {
    const body = Buffer.from(line);
    await insertRawSnapshot(t.db, {
      venue: 'partner-a',
      fetchedAt: Date.UTC(2026, 10, 20, 0, 5),
      source: 'file',
      requestMethod: 'IMPORT',
      requestUrl: 'file:old.jsonl#L1',
      requestBody: null,
      httpStatus: null,
      contentType: 'application/json',
      body,
      sha256: sha256Hex(body),
      truncated: false,
      redacted: false,
      parserVersion: 'generic/1',
      parserOptions: { default_quantity: 1 },
      runId: null,
    });
  }

  describe('snapshots left pending', () => {
    it('are reported by verify and health while they hold the watermark back, then recovered from their bytes', async () => {
      // An older version stored bytes first and parsed in a second step; a kill in between left this row pending.
      await storePendingAsOlderVersionsDid(sample()[0]!);
      const later = join(t.dir, 'later.jsonl');
      writeFileSync(later, `${sample()[1]}\n`);
      await importFile(deps(), later);
      // Snapshot 1 pending, 2 stored: fixings could read nothing past snapshot 0.
      expect(await snapshotWatermark(t.db)).toBe(0);
      expect((await verifyDatabase(t.db)).problems).toContain(
        '1 snapshot(s) are stuck pending from snapshot 1: fixings read no data newer than snapshot 0 until a writer (collect, import, fix) recovers them',
      );
      const app = createApp({ db: t.db, clock: () => NOW });
      const health = await app.request('/v1/health');
      expect(health.status).toBe(503);
      expect(((await health.json()) as { problems: string[] }).problems[0]).toMatch(/^1 snapshot\(s\) are stuck pending from snapshot 1/);

      expect(await recoverSnapshots(t.db)).toMatchObject({ reparsed: 1 });
      expect(await snapshotWatermark(t.db)).toBe(2);
      expect((await snapshotsOf(t.db)).map((s) => [s.id, s.parse_outcome, s.rows_accepted])).toEqual([
        [1, 'ok', 2],
        [2, 'ok', 1],
      ]);
      expect((await verifyDatabase(t.db)).problems).toEqual([]);
    });

    it('one whose stored body was damaged is recorded rejected with the reason, not fatal to the writer that recovers it', async () => {
      await storePendingAsOlderVersionsDid(sample()[0]!);
      // A forger rewrites the stored form (its trigger dropped) into bytes that are not brotli.
      await forge(
        t,
        [{ name: 'snapshot_bodies_no_update', table: 'snapshot_bodies' }],
        "UPDATE snapshot_bodies SET encoding = 'br', data = ? WHERE snapshot_id = 1",
        [Buffer.from('not brotli')],
      );
      expect(await recoverSnapshots(t.db)).toMatchObject({ reparsed: 1 });
      const [s] = await t.db.selectFrom('snapshots').select(['parse_outcome', 'parse_error', 'rows_accepted', 'content_sha256']).execute();
      // No bytes to take a content identity from: none is invented.
      expect(s).toMatchObject({ parse_outcome: 'rejected', rows_accepted: 0, content_sha256: null });
      expect(s!.parse_error).toMatch(/^body_unreadable: .+/);
      expect(await snapshotWatermark(t.db)).toBe(1);
      expect((await verifyDatabase(t.db)).problems).toContainEqual(expect.stringMatching(/^snapshot 1 \(partner-a\): its body cannot be read \(.+\)$/));
    });

    it('a re-import of a pending snapshot records its parse instead of calling it already stored', async () => {
      await storePendingAsOlderVersionsDid(sample()[0]!);
      const again = join(t.dir, 'again.jsonl');
      writeFileSync(again, `${sample()[0]}\n`);
      expect(await importFile(deps(), again)).toMatchObject({ snapshots: 1, duplicates: 0, observations: 2 });
      expect((await snapshotsOf(t.db)).map((s) => [s.id, s.parse_outcome])).toEqual([[1, 'ok']]);
    });
  });

  describe('a parser fault', () => {
    it('keeps the bytes, marked rejected with the reason, and the run goes on', async () => {
      const body = Buffer.from('{"anything":1}');
      const r = await ingestBody(t.db, {
        venue: 'vast',
        fetchedAt: NOW,
        source: 'http',
        requestMethod: 'GET',
        requestUrl: 'http://127.0.0.1/x',
        requestBody: null,
        received: { status: 200, contentType: 'application/json', body, truncated: false },
        parserVersion: 'vast/2',
        parserOptions: { default_quantity: 1 },
        parse: () => {
          throw new TypeError('Cannot read properties of undefined');
        },
        runId: null,
        redactor: createRedactor([]),
        receivedAt: NOW,
      });
      expect(r).toMatchObject({ outcome: 'rejected', error: 'parser_failed: Cannot read properties of undefined', observations: 0 });
      expect(Buffer.compare((await snapshotsOf(t.db))[0]!.body, body)).toBe(0);
    });
  });

  describe('redaction of an echoed key', () => {
    const KEY = 'SeCrEt-Key-0123456789abcdef';
    const redactor = createRedactor([KEY]);

    it('catches the key in another letter case, URL-encoded, and base64 inside a Basic credential', () => {
      const basic = Buffer.from(`user:${KEY}`).toString('base64'); // the key sits at an offset of 5 bytes inside
      const text = `a ${KEY.toLowerCase()} b ${KEY.toUpperCase()} c ${encodeURIComponent(KEY)} d Basic ${basic} e ${Buffer.from(KEY).toString('base64url')}`;
      const out = redactor.text(text);
      expect(out).not.toMatch(/secret-key/i);
      expect(out).not.toContain(Buffer.from(KEY).toString('base64').slice(2, 20));
      expect(out.startsWith('a [REDACTED] b [REDACTED] c [REDACTED] d Basic ')).toBe(true);
      expect(redactor.containsSecret(Buffer.from(`{"echo":"${KEY.toLowerCase()}"}`))).toBe(true);
      expect(redactor.containsSecret(Buffer.from(`{"echo":"${Buffer.from(KEY).toString('base64')}"}`))).toBe(true);
      expect(redactor.containsSecret(Buffer.from('{"echo":"nothing here"}'))).toBe(false);
    });
  });
});
