// The same inputs give byte-identical fixings, audit rows, signatures and chain on SQLite and PostgreSQL: the
// whole published record is compared table by table, not a sample of values.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbSource } from '../../src/audit/db-source.js';
import { replayDate } from '../../src/audit/replay.js';
import { verifyDatabase } from '../../src/audit/verify.js';
import { importFile } from '../../src/collectors/import.js';
import { fixDate } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import type { Db } from '../../src/storage/index.js';
import { FIXTURES, tempDb, testSigner, type TempDb } from '../helpers.js';

const DATES = ['2026-11-18', '2026-11-19', '2026-11-20'];
const NOW = Date.UTC(2026, 10, 21, 0, 30);

/** Fills a database as the publisher would: three days imported, fixed, a late file, a restatement. */
async function publish(db: Db): Promise<void> {
  const deps = { db, clock: () => NOW, log: memoryLogger(), signer: testSigner() };
  await importFile(deps, join(FIXTURES, 'market', 'three-days.jsonl'));
  for (const date of DATES) await fixDate(deps, { date });
  await importFile(deps, join(FIXTURES, 'market', 'late-2026-11-19.jsonl'));
  await fixDate(deps, { date: '2026-11-19', restate: { reason: 'late partner-d file' } });
}

let sqlite: TempDb;
let postgres: TempDb;

beforeAll(async () => {
  [sqlite, postgres] = await Promise.all([tempDb('sqlite'), tempDb('postgres')]);
  await publish(sqlite.db);
  await publish(postgres.db);
});

afterAll(async () => {
  await Promise.all([sqlite?.cleanup(), postgres?.cleanup()]);
});

describe('SQLite and PostgreSQL', () => {
  it('publish the same revisions: every column of every fixing, signatures and chain links included', async () => {
    const rows = (db: Db) => db.selectFrom('fixings').selectAll().orderBy('id').execute();
    const [a, b] = await Promise.all([rows(sqlite.db), rows(postgres.db)]);
    // 41 series on each of three days (123), plus the 2026-11-19 revisions the late partner-d file restated (3:
    // GPUIDX-H100-SXM, GPUIDX-H100-SXM-SPOT and the GPUIDX-COMPUTE composite; the same 126 as test/audit/replay.test.ts).
    expect(a).toHaveLength(126);
    expect(b).toEqual(a);
    expect(b.filter((f) => f.revision === 2).map((f) => [f.date, f.restatement_reason])).toEqual(Array(3).fill(['2026-11-19', 'late partner-d file']));
  });

  it('store the same audit rows, observations and chain heads', async () => {
    const inputs = (db: Db) => db.selectFrom('fixing_inputs').selectAll().orderBy('fixing_id').orderBy('observation_id').execute();
    const observations = (db: Db) => db.selectFrom('observations').selectAll().orderBy('id').execute();
    const heads = (db: Db) => db.selectFrom('chain_heads').selectAll().orderBy('id').execute();
    const snapshots = (db: Db) => db.selectFrom('snapshots').selectAll().orderBy('id').execute();
    for (const query of [inputs, observations, heads, snapshots]) {
      const [a, b] = await Promise.all([query(sqlite.db), query(postgres.db)]);
      expect(a).not.toEqual([]);
      expect(b).toEqual(a);
    }
  });

  it('verify clean and replay every revision bit for bit on PostgreSQL', async () => {
    expect((await verifyDatabase(postgres.db)).problems).toEqual([]);
    const verdicts = [];
    for (const d of DATES) verdicts.push(...(await replayDate(dbSource(postgres.db), d)));
    expect(verdicts.filter((v) => !v.match)).toEqual([]);
    const published = await postgres.db
      .selectFrom('fixings')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(verdicts).toHaveLength(Number(published.n));
  });
});
