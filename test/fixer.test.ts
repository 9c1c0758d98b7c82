// Publishing fixings from a real SQLite file filled through the real import path: revisions, restatements, carry-forward.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importFile } from '../src/collectors/import.js';
import { fixDate } from '../src/fixer/index.js';
import { memoryLogger } from '../src/log/index.js';
import { auditRowsOf } from '../src/storage/index.js';
import { DIALECTS, tempDb, testSigner, type TempDb } from './helpers.js';

// One suite, every database gpuidx runs on.
describe.each(DIALECTS)('%s', (dialect) => {
  let t: TempDb;
  beforeEach(async () => {
    t = await tempDb(dialect);
  });
  afterEach(async () => t.cleanup());

  const listing = (id: string, price: number, gpu = 'H100 SXM') => ({
    listing_id: id,
    gpu,
    gpu_count: 1,
    price_usd_per_hour: price,
    contract: 'on_demand',
    available: true,
  });
  const line = (venue: string, at: string, listings: object[]) => JSON.stringify({ venue, fetched_at: at, listings });

  async function load(name: string, lines: string[]) {
    const file = join(t.dir, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    await importFile({ db: t.db, clock: () => Date.UTC(2026, 10, 21, 0, 30), log: memoryLogger() }, file);
  }

  const deps = () => ({ db: t.db, clock: () => Date.UTC(2026, 10, 21, 0, 30), log: memoryLogger(), signer: testSigner() });
  const H100 = ['GPUIDX-H100-SXM'];

  describe('fixer', () => {
    it('publishes revision 1, then nothing new for the same inputs', async () => {
      // One snapshot per venue represents at most max_gap_seconds (one hour): w = 1 GPU-hour each.
      await load('d.jsonl', [
        line('a', '2026-11-20T00:00:00Z', [listing('a1', 2.0)]),
        line('b', '2026-11-20T00:00:00Z', [listing('b1', 2.5)]),
        line('c', '2026-11-20T00:00:00Z', [listing('c1', 3.0)]),
      ]);
      expect(await fixDate(deps(), { date: '2026-11-20', series: H100 })).toEqual([
        { series: 'GPUIDX-H100-SXM', action: 'published', revision: 1, status: 'normal', value: 2.5 },
      ]);
      expect(await fixDate(deps(), { date: '2026-11-20', series: H100 })).toEqual([{ series: 'GPUIDX-H100-SXM', action: 'unchanged', revision: 1 }]);

      const [f] = await t.db.selectFrom('fixings').selectAll().execute();
      expect(f).toMatchObject({
        series: 'GPUIDX-H100-SXM',
        date: '2026-11-20',
        revision: 1,
        status: 'normal',
        value: 2.5,
        software_version: '0.1.0',
        computed_at: Date.UTC(2026, 10, 21, 0, 30),
        restatement_reason: null,
      });
      expect(JSON.parse(f!.record)).toMatchObject({ value: 2.5, listings: 3, venues: 3, volume: 3, input_digest: f!.input_digest });
      const inputs = (await auditRowsOf(t.db, f!.id)).map(({ observation_id, reason, p, w, w_capped }) => ({ observation_id, reason, p, w, w_capped }));
      expect(inputs).toEqual([
        { observation_id: 1, reason: null, p: 2, w: 1, w_capped: 1 },
        { observation_id: 2, reason: null, p: 2.5, w: 1, w_capped: 1 },
        { observation_id: 3, reason: null, p: 3, w: 1, w_capped: 1 },
      ]);
    });

    it('refuses changed inputs without --restate, then publishes revision 2 with the reason and keeps revision 1', async () => {
      await load('d.jsonl', [
        line('a', '2026-11-20T00:00:00Z', [listing('a1', 2.0)]),
        line('b', '2026-11-20T00:00:00Z', [listing('b1', 2.5)]),
        line('c', '2026-11-20T00:00:00Z', [listing('c1', 3.0)]),
      ]);
      await fixDate(deps(), { date: '2026-11-20', series: H100 });
      await load('late.jsonl', [line('d', '2026-11-20T12:00:00Z', [listing('d1', 1.5), listing('d2', 1.6)])]);

      const refused = await fixDate(deps(), { date: '2026-11-20', series: H100 });
      expect(refused).toMatchObject([{ series: 'GPUIDX-H100-SXM', action: 'needs_restatement', revision: 1 }]);
      expect((refused[0] as { detail: string }).detail).toMatch(
        /^inputs differ from revision 1 \(input digest [0-9a-f]{12} -> [0-9a-f]{12}\); publish a correction with --restate --reason "\.\.\."$/,
      );

      const restated = await fixDate(deps(), { date: '2026-11-20', series: H100, restate: { reason: 'late partner data for 2026-11-20' } });
      expect(restated).toEqual([{ series: 'GPUIDX-H100-SXM', action: 'published', revision: 2, status: 'normal', value: 2 }]);
      const revs = await t.db
        .selectFrom('fixings')
        .select(['revision', 'value', 'restatement_reason', 'input_digest', 'previous_input_digest'])
        .orderBy('revision')
        .execute();
      expect(revs.map((r) => [r.revision, r.value, r.restatement_reason])).toEqual([
        [1, 2.5, null],
        [2, 2, 'late partner data for 2026-11-20'],
      ]);
      expect(revs[1]!.previous_input_digest).toBe(revs[0]!.input_digest);
    });

    it('carries the latest published value forward from the database, naming its original date', async () => {
      await load('d.jsonl', [
        line('a', '2026-11-10T00:00:00Z', [listing('a1', 2.0)]),
        line('b', '2026-11-10T00:00:00Z', [listing('b1', 2.5)]),
        line('c', '2026-11-10T00:00:00Z', [listing('c1', 3.0)]),
      ]);
      await fixDate(deps(), { date: '2026-11-10', series: H100 });
      expect(await fixDate(deps(), { date: '2026-11-14', series: H100 })).toEqual([
        { series: 'GPUIDX-H100-SXM', action: 'published', revision: 1, status: 'carried_forward', value: 2.5 },
      ]);
      await fixDate(deps(), { date: '2026-11-15', series: H100 });
      const rows = await t.db.selectFrom('fixings').select(['date', 'status', 'value', 'carried_from']).orderBy('date').execute();
      expect(rows).toEqual([
        { date: '2026-11-10', status: 'normal', value: 2.5, carried_from: null },
        { date: '2026-11-14', status: 'carried_forward', value: 2.5, carried_from: '2026-11-10' },
        { date: '2026-11-15', status: 'carried_forward', value: 2.5, carried_from: '2026-11-10' },
      ]);
    });

    it('keeps published fixings append-only', async () => {
      await fixDate(deps(), { date: '2026-11-20', series: H100 });
      await expect(t.db.updateTable('fixings').set({ value: 9 }).execute()).rejects.toThrow('fixings are append-only: a correction is a new revision');
      await expect(t.db.deleteFrom('fixings').execute()).rejects.toThrow('fixings are append-only: DELETE refused');
    });

    it('rejects an unknown series by name', async () => {
      await expect(fixDate(deps(), { date: '2026-11-20', series: ['GPUIDX-H100', 'GPUIDX-L40S'] })).rejects.toThrow('unknown series: GPUIDX-H100');
    });
  });
});
