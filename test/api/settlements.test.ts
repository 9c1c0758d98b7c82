// Monthly settlements through the real fixer, storage and API on a real port, on both databases: provisional
// before the cut-off (and following a restatement), published and signed after it, verifiable with /v1/keys.
import { createPublicKey, verify } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningServer } from '../../src/api/server.js';
import { importFile } from '../../src/collectors/import.js';
import { fixDate, PublicationRefusedError } from '../../src/fixer/index.js';
import { newPublicationState, publicationTick } from '../../src/fixer/schedule.js';
import { settleMonth } from '../../src/fixer/settle.js';
import { memoryLogger } from '../../src/log/index.js';
import { insertFixing, publisherLease } from '../../src/storage/index.js';
import { verifyDatabase } from '../../src/audit/verify.js';
import { publishMarketFixture, DIALECTS, FIXTURES, forge, tempDb, testSigner, type TempDb } from '../helpers.js';

const NOW = Date.UTC(2026, 10, 21, 0, 40);
const AFTER_CUTOFF = Date.UTC(2026, 11, 3, 0, 0);
const settings = { host: '127.0.0.1', port: 0, max_range_days: 400, health: { max_fixing_age_hours: 50, max_collection_age_minutes: 60 } };

describe.each(DIALECTS)('%s', (dialect) => {
  let t: TempDb;
  const servers: RunningServer[] = [];
  const serveAt = async (now: number) => {
    const api = await startApi(t.db, { ...settings }, memoryLogger(), () => now);
    servers.push(api);
    return api.url;
  };
  const get = async (url: string, path: string) => {
    const res = await fetch(`${url}${path}`);
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
  };

  beforeAll(async () => {
    t = await tempDb(dialect);
    const _deps = { db: t.db, clock: () => NOW, log: memoryLogger(), signer: testSigner() };
    await publishMarketFixture(t.db, NOW);
  });

  afterAll(async () => {
    for (const s of servers) await s.close();
    await t.cleanup();
  });

  it('is provisional and unsigned before the cut-off, over the revisions published by then', async () => {
    // GPUIDX-COMPUTE published 2.3 (11-18), 2.323 (11-19 r1), 2.346 (11-20); 11-19 r2 (2.222) one minute later.
    // Between them: (23000 + 23230 + 23460) / 3 = 23230 units -> 2.323.
    const before = JSON.parse((await get(await serveAt(NOW + 30_000), '/v1/series/GPUIDX-COMPUTE/settlements/2026-11')).text);
    expect(before.signature).toBeNull();
    expect(before.settlement).toMatchObject({
      status: 'provisional',
      value: 2.323,
      days_in_month: 30,
      days_counted: 3,
      unit: 'USD per H100-SXM-equivalent hour',
    });
    // After the restatement: (23000 + 22220 + 23460) / 3 = 22893.33 units -> 2.2893.
    const after = JSON.parse((await get(await serveAt(NOW + 120_000), '/v1/series/GPUIDX-COMPUTE/settlements/2026-11')).text);
    expect(after.settlement).toMatchObject({ status: 'provisional', value: 2.2893 });
    expect(after.settlement.days.filter((d: { counted: boolean }) => d.counted).map((d: { date: string; revision: number }) => [d.date, d.revision])).toEqual([
      ['2026-11-18', 1],
      ['2026-11-19', 2],
      ['2026-11-20', 1],
    ]);
  });

  it('refuses to publish before the cut-off', async () => {
    await expect(settleMonth({ db: t.db, clock: () => AFTER_CUTOFF - 1, log: memoryLogger(), signer: testSigner() }, { month: '2026-11' })).rejects.toThrow(
      PublicationRefusedError,
    );
  });

  it('is published once after the cut-off, signed with the key of the daily fixings, and served as stored', async () => {
    const deps = { db: t.db, clock: () => AFTER_CUTOFF, log: memoryLogger(), signer: testSigner() };
    const outcomes = await settleMonth(deps, { month: '2026-11' });
    // Every series with a fixing in the month: the 41 of the catalogue. Three valued days are fewer than the
    // rule's 15: each settlement is final without a value (insufficient).
    expect(outcomes).toHaveLength(41);
    expect(new Set(outcomes.map((o) => `${o.action} ${o.status} ${o.value}`))).toEqual(new Set(['published insufficient null']));
    expect(new Set((await settleMonth(deps, { month: '2026-11' })).map((o) => o.action))).toEqual(new Set(['unchanged']));
    expect((await verifyDatabase(t.db)).problems).toEqual([]);

    const url = await serveAt(AFTER_CUTOFF + 3_600_000);
    const { settlement, signature } = JSON.parse((await get(url, '/v1/series/GPUIDX-COMPUTE/settlements/2026-11')).text);
    expect(settlement).toMatchObject({
      status: 'insufficient',
      value: null,
      days_counted: 3,
      revision: 1,
      key_id: testSigner().keyId,
      cutoff: '2026-12-03T00:00:00.000Z',
    });
    expect(JSON.parse(signature.payload)).toEqual(settlement);
    const { keys } = JSON.parse((await get(url, '/v1/keys')).text) as { keys: { key_id: string; public_key_pem: string }[] };
    const key = keys.find((k) => k.key_id === signature.key_id)!;
    expect(verify(null, Buffer.from(signature.payload), createPublicKey(key.public_key_pem), Buffer.from(signature.value, 'base64'))).toBe(true);

    const csv = await get(url, '/v1/series/GPUIDX-COMPUTE/settlements/2026-11?format=csv');
    expect(csv.type).toBe('text/csv; charset=utf-8');
    const lines = csv.text.trim().split('\n');
    expect(lines).toHaveLength(31);
    expect(lines.slice(0, 2)).toEqual(['date,revision,status,value,counted,excluded', '2026-11-01,,,,0,no_fixing']);
    expect(lines.slice(18, 21)).toEqual(['2026-11-18,1,normal,2.3,1,', '2026-11-19,2,normal,2.222,1,', '2026-11-20,1,normal,2.346,1,']);
  });

  it('is tamper-evident: verify names a settlement value edited behind its trigger', async () => {
    await forge(t, [{ name: 'settlements_no_update', table: 'settlements' }], "UPDATE settlements SET value = 9.99 WHERE series = 'GPUIDX-COMPUTE'");
    expect((await verifyDatabase(t.db)).problems).toEqual([
      'append-only trigger settlements_no_update is missing: stored rows could be changed silently',
      "settlement GPUIDX-COMPUTE 2026-11 r1: value column 9.99 differs from its signed record's null",
    ]);
  });

  it('answers a bad month or an unknown series with a 4xx naming it', async () => {
    const url = await serveAt(NOW);
    const bad = await get(url, '/v1/series/GPUIDX-COMPUTE/settlements/2026-13');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).detail).toBe('param.month: a month is written YYYY-MM');
    const unknown = await get(url, '/v1/series/GPUIDX-NOPE/settlements/2026-11');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text).detail).toBe('unknown series "GPUIDX-NOPE"; GET /v1/series lists them');
  });
});

describe('the scheduled publisher', () => {
  it('settles the previous month at its first tick after the cut-off, and only once', async () => {
    const t = await tempDb();
    try {
      const deps = { db: t.db, clock: () => NOW, log: memoryLogger(), signer: testSigner() };
      await importFile(deps, join(FIXTURES, 'market', 'three-days.jsonl'));
      await fixDate(deps, { date: '2026-11-18' });
      const lease = await publisherLease(t.path);
      const tick = (now: number) => publicationTick({ ...deps, clock: () => now, lease, publisher: 'test' }, newPublicationState());
      const count = async () =>
        Number(
          (
            await t.db
              .selectFrom('settlements')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      await tick(AFTER_CUTOFF - 60_000);
      expect(await count()).toBe(0);
      await tick(AFTER_CUTOFF);
      // One fixing date published (41 series): 41 settlements of 2026-11, insufficient (1 valued day of 15).
      expect(await count()).toBe(41);
      await tick(AFTER_CUTOFF + 60_000);
      expect(await count()).toBe(41);
    } finally {
      await t.cleanup();
    }
  });
});

describe('a whole month settled', () => {
  it('publishes the hand-computed mean of the standing revisions, signed, and serves it with the days used', async () => {
    const t = await tempDb();
    try {
      // Daily fixings of GPUIDX-H100-SXM for November 2026 stored directly (the settlement reads only the stored
      // revisions): day d at 2 + d/1000 (2.001 .. 2.030), published at noon the next day; day 12 insufficient,
      // day 20 restated after the cut-off to 9.999 (which must not count).
      const at = (d: number) => Date.UTC(2026, 10, d + 1, 12);
      const row = (d: number, revision: number, value: number | null, computedAt: number) => ({
        series: 'GPUIDX-H100-SXM',
        date: `2026-11-${String(d).padStart(2, '0')}`,
        revision,
        status: value === null ? 'insufficient' : 'normal',
        value,
        carried_from: null,
        methodology_version: '1.0.0',
        parameter_hash: 'p',
        input_digest: `d${d}r${revision}`,
        software_version: 'test',
        computed_at: computedAt,
        restatement_reason: revision > 1 ? 'test' : null,
        previous_input_digest: null,
        record: JSON.stringify({ unit: 'USD per GPU-hour' }),
        evidence: '{}',
        parser_versions: '[]',
        inputs_through_snapshot: 0,
      });
      await t.db.transaction().execute(async (trx) => {
        for (let d = 1; d <= 30; d++) {
          const v = d === 12 ? null : Number((2 + d / 1000).toFixed(3));
          await insertFixing(trx, row(d, 1, v, at(d)), [], () => ({
            previous_chain_hash: null,
            key_id: null,
            signature: null,
          }));
        }
        await insertFixing(trx, row(20, 2, 9.999, Date.UTC(2026, 11, 4)), [], () => ({
          previous_chain_hash: null,
          key_id: null,
          signature: null,
        }));
      });
      const deps = { db: t.db, clock: () => AFTER_CUTOFF + 86_400_000, log: memoryLogger(), signer: testSigner() };
      const [outcome] = await settleMonth(deps, { month: '2026-11', series: ['GPUIDX-H100-SXM'] });
      // Counted: 29 days (all but day 12). In 0.0001 units day d is 20000 + 10d: the sum over d = 1..30 is
      // 600000 + 10 x 465 = 604650, minus day 12's 20120 = 584530; / 29 = 20156.21 -> 20156 -> 2.0156.
      expect(outcome).toEqual({ series: 'GPUIDX-H100-SXM', action: 'published', revision: 1, status: 'final', value: 2.0156 });
      const api = await startApi(t.db, { ...settings }, memoryLogger(), () => AFTER_CUTOFF + 86_400_000);
      try {
        const res = await fetch(`${api.url}/v1/series/GPUIDX-H100-SXM/settlements/2026-11`);
        const { settlement, signature } = (await res.json()) as any;
        expect(settlement).toMatchObject({ status: 'final', value: 2.0156, days_counted: 29, days_in_month: 30 });
        expect(settlement.days[11]).toEqual({ date: '2026-11-12', revision: 1, status: 'insufficient', value: null, counted: false, excluded: 'no_value' });
        expect(settlement.days[19]).toEqual({ date: '2026-11-20', revision: 1, status: 'normal', value: 2.02, counted: true, excluded: null });
        const keys = (await (await fetch(`${api.url}/v1/keys`)).json()) as { keys: { key_id: string; public_key_pem: string }[] };
        const key = keys.keys.find((k) => k.key_id === signature.key_id)!;
        expect(verify(null, Buffer.from(signature.payload), createPublicKey(key.public_key_pem), Buffer.from(signature.value, 'base64'))).toBe(true);
      } finally {
        await api.close();
      }
    } finally {
      await t.cleanup();
    }
  });
});
