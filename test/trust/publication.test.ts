// Publication controls: a date is fixed only after it has ended (plus the publication delay) and only under a
// methodology in force; a dry run stores nothing; the API answers wrong methods, types and page sizes with 4xx.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { importFile } from '../../src/collectors/import.js';
import { fixDate, PublicationRefusedError } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import { DIALECTS, FIXTURES, tempDb, testSigner, type TempDb } from '../helpers.js';

// One suite, every database gpuidx runs on.
describe.each(DIALECTS)('%s', (dialect) => {
  let t: TempDb;
  beforeEach(async () => {
    t = await tempDb(dialect);
    await importFile({ db: t.db, clock: () => Date.UTC(2026, 10, 21, 0, 30), log: memoryLogger() }, join(FIXTURES, 'market', 'three-days.jsonl'));
  });
  afterEach(async () => t.cleanup());

  const deps = (now: number) => ({ db: t.db, clock: () => now, log: memoryLogger(), signer: testSigner() });
  const count = async () =>
    Number(
      (
        await t.db
          .selectFrom('fixings')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  describe('publication controls', () => {
    it('refuses a date that has not ended plus the 15-minute delay, and publishes it once it has', async () => {
      // 2026-11-20 ends at 2026-11-21T00:00Z; with the default 15-minute delay it may be fixed from 00:15.
      await expect(fixDate(deps(Date.UTC(2026, 10, 21, 0, 14, 59, 999)), { date: '2026-11-20' })).rejects.toThrow(
        new PublicationRefusedError(
          '2026-11-20',
          'not_ended',
          "2026-11-20 cannot be fixed before 2026-11-21T00:15:00.000Z (the day's end plus the 15-minute publication delay)",
        ),
      );
      await expect(fixDate(deps(Date.UTC(2030, 0, 1)), { date: '2030-01-01' })).rejects.toThrow('2030-01-01 cannot be fixed before 2030-01-02T00:15:00.000Z');
      expect(await count()).toBe(0);
      const published = await fixDate(deps(Date.UTC(2026, 10, 21, 0, 15)), { date: '2026-11-20', series: ['GPUIDX-H100-SXM'] });
      expect(published).toEqual([{ series: 'GPUIDX-H100-SXM', action: 'published', revision: 1, status: 'normal', value: 2.244 }]);
    });

    it('honours a configured delay', async () => {
      const d = { ...deps(Date.UTC(2026, 10, 21, 1, 59)), publicationDelayMs: 2 * 3_600_000 };
      await expect(fixDate(d, { date: '2026-11-20' })).rejects.toThrow(
        "2026-11-20 cannot be fixed before 2026-11-21T02:00:00.000Z (the day's end plus the 120-minute publication delay)",
      );
    });

    it("refuses a date before every methodology's effective date unless a methodology is chosen explicitly", async () => {
      // Methodology 1.0.0 is effective from 2026-11-01.
      await expect(fixDate(deps(Date.UTC(2026, 10, 21)), { date: '2026-10-31' })).rejects.toThrow(
        '2026-10-31 is before the effective date of every methodology (the first, 1.0.0, is effective from 2026-11-01); fixing history before it needs an explicit --methodology VERSION (see METHODOLOGY.md)',
      );
      const explicit = await fixDate(deps(Date.UTC(2026, 10, 21)), { date: '2026-10-31', series: ['GPUIDX-H100-SXM'], methodologyVersion: '1.0.0' });
      expect(explicit).toEqual([{ series: 'GPUIDX-H100-SXM', action: 'published', revision: 1, status: 'insufficient', value: null }]);
    });

    it('a dry run reports what would be published and stores nothing, not even a key', async () => {
      const dry = await fixDate(deps(Date.UTC(2026, 10, 21, 0, 30)), { date: '2026-11-20', series: ['GPUIDX-H100-SXM'], dryRun: true });
      expect(dry).toEqual([{ series: 'GPUIDX-H100-SXM', action: 'would_publish', revision: 1, status: 'normal', value: 2.244 }]);
      expect(await count()).toBe(0);
      expect(await t.db.selectFrom('signing_keys').selectAll().execute()).toEqual([]);
      expect(await t.db.selectFrom('chain_heads').selectAll().execute()).toEqual([]);
    });
  });

  describe('the API under misuse', () => {
    it('answers 405 for a write method, 406 for an Accept it cannot serve, and 400 for an audit page over 1000 rows', async () => {
      await fixDate(deps(Date.UTC(2026, 10, 21, 0, 30)), { date: '2026-11-20', series: ['GPUIDX-H100-SXM'] });
      const app = createApp({ db: t.db, clock: () => Date.UTC(2026, 10, 21, 0, 30) });
      const post = await app.request('/v1/series', { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
      expect(((await post.json()) as { detail: string }).detail).toBe('POST is not allowed: this API is read-only (GET, HEAD, OPTIONS)');
      expect((await app.request('/v1/series', { method: 'DELETE' })).status).toBe(405);
      const xml = await app.request('/v1/series', { headers: { accept: 'application/xml' } });
      expect(xml.status).toBe(406);
      expect((await app.request('/v1/series', { headers: { accept: 'application/xml, application/json;q=0.9' } })).status).toBe(200);
      expect((await app.request('/v1/series', { headers: { accept: '*/*' } })).status).toBe(200);
      const big = await app.request('/v1/series/GPUIDX-H100-SXM/fixings/2026-11-20/audit?limit=10000');
      expect(big.status).toBe(400);
      expect((await app.request('/v1/series/GPUIDX-H100-SXM/fixings/2026-11-20/audit?limit=1000')).status).toBe(200);
    });

    it('serves the signed chain head, verifiable with the registered key', async () => {
      const app = createApp({ db: t.db, clock: () => Date.UTC(2026, 10, 21, 0, 30) });
      expect((await app.request('/v1/chain/head')).status).toBe(404);
      await fixDate(deps(Date.UTC(2026, 10, 21, 0, 30)), { date: '2026-11-20', series: ['GPUIDX-H100-SXM'] });
      const { head, signature } = (await (await app.request('/v1/chain/head')).json()) as {
        head: Record<string, unknown>;
        signature: { payload: string; value: string; key_id: string };
      };
      expect(head).toMatchObject({
        format: 'gpuidx-chain-head/1',
        fixing_id: 1,
        series: 'GPUIDX-H100-SXM',
        date: '2026-11-20',
        revision: 1,
        revisions: 1,
        published_at: '2026-11-21T00:30:00.000Z',
        key_id: testSigner().keyId,
      });
      const { keys } = (await (await app.request('/v1/keys')).json()) as {
        keys: { key_id: string; public_key_pem: string; valid_from: string; valid_to: string | null; fingerprint: string }[];
      };
      expect(keys.map((k) => [k.key_id, k.valid_from, k.valid_to, k.fingerprint.slice(0, 16)])).toEqual([
        [testSigner().keyId, '2026-11-21T00:30:00.000Z', null, testSigner().keyId],
      ]);
      const { verifyPayload } = await import('../../src/signing/index.js');
      expect(verifyPayload(keys[0]!.public_key_pem, signature.payload, signature.value)).toBe(true);
      expect(JSON.parse(signature.payload)).toEqual(head);
    });
  });

  describe('key rotation', () => {
    it('old fixings keep verifying with the retired key, new ones are signed by the new key, and a stale key file is refused', async () => {
      const { rotateKey, SigningKeyError } = await import('../../src/signing/registry.js');
      const { verifyDatabase } = await import('../../src/audit/verify.js');
      const oldKey = testSigner(1);
      const newKey = testSigner(2);
      await fixDate({ ...deps(Date.UTC(2026, 10, 21, 0, 30)), signer: oldKey }, { date: '2026-11-19', series: ['GPUIDX-H100-SXM'] });
      await rotateKey(t.db, newKey, Date.UTC(2026, 10, 21, 6));
      // The old key file is no longer the active key: publishing with it is refused, storing nothing.
      await expect(fixDate({ ...deps(Date.UTC(2026, 10, 21, 7)), signer: oldKey }, { date: '2026-11-20', series: ['GPUIDX-H100-SXM'] })).rejects.toThrow(
        SigningKeyError,
      );
      await fixDate({ ...deps(Date.UTC(2026, 10, 21, 7)), signer: newKey }, { date: '2026-11-20', series: ['GPUIDX-H100-SXM'] });
      const signed = await t.db.selectFrom('fixings').select(['date', 'key_id']).orderBy('id').execute();
      expect(signed).toEqual([
        { date: '2026-11-19', key_id: oldKey.keyId },
        { date: '2026-11-20', key_id: newKey.keyId },
      ]);
      const report = await verifyDatabase(t.db);
      expect(report.problems).toEqual([]);
      expect(report.keys.map((k) => k.key_id)).toEqual([oldKey.keyId, newKey.keyId]);
      const registry = await t.db.selectFrom('signing_keys').select(['key_id', 'valid_from', 'valid_to']).orderBy('valid_from').execute();
      expect(registry).toEqual([
        { key_id: oldKey.keyId, valid_from: Date.UTC(2026, 10, 21, 0, 30), valid_to: Date.UTC(2026, 10, 21, 6) },
        { key_id: newKey.keyId, valid_from: Date.UTC(2026, 10, 21, 6), valid_to: null },
      ]);
    });
  });
});
