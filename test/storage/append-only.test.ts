// The raw record is append-only at the database level, and a re-delivered body is stored once.
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/collectors/ingest.js';
import { allObservations, insertRawSnapshot, isBusyError, migrateToLatest, openDatabase, recordParse } from '../../src/storage/index.js';
import { DIALECTS, tempDb, type TempDb } from '../helpers.js';

// One suite, every database gpuidx runs on.
describe.each(DIALECTS)('%s', (dialect) => {
  let t: TempDb;
  beforeEach(async () => {
    t = await tempDb(dialect);
  });
  afterEach(async () => t.cleanup());

  const body = Buffer.from('{"models":[]}');
  type RawInput = Parameters<typeof insertRawSnapshot>[1];
  const raw = (over: Partial<RawInput> = {}): RawInput => ({
    venue: 'akash',
    fetchedAt: 1_763_600_000_000,
    source: 'http',
    requestMethod: 'GET',
    requestUrl: 'https://console-api.akash.network/v1/gpu-prices',
    requestBody: null,
    httpStatus: 200,
    contentType: 'application/json',
    body,
    sha256: sha256Hex(body),
    truncated: false,
    redacted: false,
    parserVersion: 'akash/1',
    parserOptions: { default_quantity: 1 },
    runId: null,
    ...over,
  });

  const observation = {
    seq: 0,
    listing_id: 'x',
    host_id: null,
    gpu_raw: 'H100 SXM',
    gpu_count: 1,
    price_usd_per_hour: 2,
    contract: 'on_demand' as const,
    available: 1,
    perf_system: null,
    perf_score_per_gpu: null,
    region: null,
    quantity_reported: 1,
  };

  describe('append-only storage', () => {
    it('stores the same venue, body and instant once', async () => {
      const a = await insertRawSnapshot(t.db, raw());
      const b = await insertRawSnapshot(t.db, raw());
      const c = await insertRawSnapshot(t.db, raw({ fetchedAt: 1_763_600_600_000 }));
      expect([a.duplicate, b.duplicate, c.duplicate]).toEqual([false, true, false]);
      expect(b.id).toBe(a.id);
      expect(c.id).not.toBe(a.id);
      expect(await t.db.selectFrom('snapshots').select(['id', 'fetched_at']).orderBy('id').execute()).toEqual([
        { id: a.id, fetched_at: 1_763_600_000_000 },
        { id: c.id, fetched_at: 1_763_600_600_000 },
      ]);
    });

    it('refuses to update a stored body or delete a snapshot', async () => {
      const { id } = await insertRawSnapshot(t.db, raw());
      await expect(t.db.updateTable('snapshots').set({ byte_size: 2 }).where('id', '=', id).execute()).rejects.toThrow(
        'snapshots are append-only: the stored body and its metadata cannot be updated',
      );
      // The bytes themselves live in snapshot_bodies, append-only as well.
      await expect(
        t.db
          .updateTable('snapshot_bodies')
          .set({ data: Buffer.from('{}') })
          .where('snapshot_id', '=', id)
          .execute(),
      ).rejects.toThrow('snapshot bodies are append-only: UPDATE refused');
      await expect(sql`DELETE FROM snapshot_bodies`.execute(t.db)).rejects.toThrow('snapshot bodies are append-only: DELETE refused');
      await expect(
        t.db
          .updateTable('snapshots')
          .set({ sha256: 'f'.repeat(64) })
          .where('id', '=', id)
          .execute(),
      ).rejects.toThrow('append-only');
      await expect(t.db.deleteFrom('snapshots').where('id', '=', id).execute()).rejects.toThrow('snapshots are append-only: DELETE refused');
      // Even raw SQL, bypassing the repositories, is refused.
      await expect(sql`DELETE FROM snapshots`.execute(t.db)).rejects.toThrow('append-only');
    });

    it('records a parse outcome once and never rewrites it or its observations', async () => {
      const { id } = await insertRawSnapshot(t.db, raw());
      await recordParse(t.db, id, {
        outcome: 'ok',
        error: null,
        rowsTotal: 2,
        rowsAccepted: 1,
        rowsIgnored: 1,
        ignoredReasons: { not_offered: 1 },
        observations: [observation],
        issues: [],
      });
      await expect(
        recordParse(t.db, id, {
          outcome: 'rejected',
          error: 'x',
          rowsTotal: 0,
          rowsAccepted: 0,
          rowsIgnored: 0,
          ignoredReasons: {},
          observations: [],
          issues: [],
        }),
      ).rejects.toThrow('snapshots are append-only: the parse outcome is already recorded');
      await expect(
        t.db
          .updateTable('observation_blocks')
          .set({ data: Buffer.from('forged') })
          .execute(),
      ).rejects.toThrow('observations are append-only: UPDATE refused');
      await expect(t.db.deleteFrom('observation_blocks').execute()).rejects.toThrow('observations are append-only: DELETE refused');
      expect((await allObservations(t.db)).map((o) => o.price_usd_per_hour)).toEqual([2]);
      // The ignored rows' reasons are part of the outcome: recorded once, with it.
      await expect(t.db.updateTable('snapshots').set({ ignored_reasons: '{}' }).execute()).rejects.toThrow('the parse outcome is already recorded');
      expect(await t.db.selectFrom('snapshots').select(['parse_outcome', 'rows_accepted', 'ignored_reasons']).execute()).toEqual([
        { parse_outcome: 'ok', rows_accepted: 1, ignored_reasons: '{"not_offered":1}' },
      ]);
    });

    it('runs migrations once: reopening an existing file applies nothing', async () => {
      const again = await openDatabase(t.path, { migrate: false });
      expect(await migrateToLatest(again)).toEqual([]);
      await again.destroy();
    });

    it.runIf(dialect === 'postgres')('refuses TRUNCATE, which bypasses row triggers, on every append-only table', async () => {
      for (const table of ['snapshots', 'snapshot_bodies', 'observation_blocks', 'fixings', 'fixing_audit', 'signing_keys', 'chain_heads', 'settlements']) {
        await expect(sql.raw(`TRUNCATE ${table} CASCADE`).execute(t.db), table).rejects.toThrow(`${table} are append-only: TRUNCATE refused`);
      }
    });

    it('opens a current database without the write lock: a reader starts while a writer holds it', async () => {
      // The writer holds the lock for as long as the callback runs; the open inside it must not wait for it (with a
      // 200 ms busy timeout it would fail busy if it asked for the lock).
      const opened = await t.db.transaction().execute(async (trx) => {
        await trx.selectFrom('snapshots').select('id').limit(1).execute();
        const reader = await openDatabase(t.path, { busyTimeoutMs: 200, mustExist: true });
        const n = await reader
          .selectFrom('snapshots')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        await reader.destroy();
        return Number(n.n);
      });
      expect(opened).toBe(0);
    });

    it.runIf(dialect === 'postgres')('a write transaction holds the write lock: a second writer waits, then gives up busy', async () => {
      const other = await openDatabase(t.path, { migrate: false, busyTimeoutMs: 300 });
      try {
        const failure = await t.db.transaction().execute(async () =>
          other
            .transaction()
            .execute(async () => 'entered')
            .catch((err: unknown) => err),
        );
        expect(isBusyError(failure)).toBe(true);
        // Once the first has committed, the second writer gets the lock.
        expect(await other.transaction().execute(async () => 'entered')).toBe('entered');
      } finally {
        await other.destroy();
      }
    });

    it.runIf(dialect === 'sqlite')('uses WAL journaling and a busy timeout', async () => {
      const { rows } = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(t.db);
      const timeout = await sql<{ timeout: number }>`PRAGMA busy_timeout`.execute(t.db);
      expect(rows).toEqual([{ journal_mode: 'wal' }]);
      expect(timeout.rows).toEqual([{ timeout: 30000 }]);
    });
  });
});
