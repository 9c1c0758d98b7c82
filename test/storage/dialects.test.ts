// The same inputs give byte-identical fixings, audit rows, signatures and chain on SQLite and PostgreSQL: the
// whole published record is compared table by table, not a sample of values.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportBundle, openBundle } from '../../src/audit/bundle.js';
import { fingerprintOf } from '../../src/signing/registry.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbSource } from '../../src/audit/db-source.js';
import { replayDate } from '../../src/audit/replay.js';
import { verifyDatabase } from '../../src/audit/verify.js';
import { importFile } from '../../src/collectors/import.js';
import { fixDate } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import type { Db } from '../../src/storage/index.js';
import { FIXTURES, forge, tempDb, testSigner, type TempDb } from '../helpers.js';

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
    const inputs = (db: Db) => db.selectFrom('fixing_audit').selectAll().orderBy('fixing_id').orderBy('block').execute();
    const observations = (db: Db) => db.selectFrom('observation_blocks').selectAll().orderBy('snapshot_id').execute();
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

  it('export the same audit bundle, file for file, and the PostgreSQL one replays with the pinned key and no database', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'gpuidx-dialect-bundle-'));
    try {
      const options = (out: string) => ({ date: '2026-11-19', out, softwareVersion: '0.1.0', clock: () => NOW });
      await exportBundle(sqlite.db, testSigner(), options(join(scratch, 'sqlite')));
      await exportBundle(postgres.db, testSigner(), options(join(scratch, 'postgres')));
      const files = (dir: string) =>
        readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => join(e.parentPath, e.name).slice(dir.length))
          .sort();
      const names = files(join(scratch, 'sqlite'));
      expect(names).toContain('/manifest.json');
      expect(files(join(scratch, 'postgres'))).toEqual(names);
      for (const name of names) expect(readFileSync(join(scratch, 'postgres', name)), name).toEqual(readFileSync(join(scratch, 'sqlite', name)));
      const opened = await openBundle(join(scratch, 'postgres'), { fingerprints: [fingerprintOf(testSigner().publicKeyPem)] });
      expect(opened.problems).toEqual([]);
      const verdicts = await replayDate(opened.source, '2026-11-19');
      // 41 series, three of them restated: 44 revisions, each replayed from the bundle's bytes alone.
      expect(verdicts).toHaveLength(44);
      expect(verdicts.filter((v) => !v.match)).toEqual([]);
      opened.close();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('tamper evidence on PostgreSQL', () => {
  let forged: TempDb;
  beforeAll(async () => {
    forged = await tempDb('postgres');
    await publish(forged.db);
  });
  afterAll(async () => forged?.cleanup());

  it('names a value edited behind a dropped trigger, the missing trigger, and a refusal function rewritten to refuse nothing', async () => {
    const { id } = await forged.db.selectFrom('fixings').select('id').where('value', 'is not', null).orderBy('id').limit(1).executeTakeFirstOrThrow();
    await forge(forged, [{ name: 'fixings_no_update', table: 'fixings' }], 'UPDATE fixings SET value = value + 1 WHERE id = ?', [id]);
    // The server's superuser could also neuter every trigger at once by rewriting the function they call.
    await forge(forged, [], `CREATE OR REPLACE FUNCTION gpuidx_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`);
    const problems = (await verifyDatabase(forged.db)).problems;
    // The first fixing with a value is the first published: GPUIDX-H100-SXM of 2026-11-18, at 2.2.
    expect(id).toBe(1);
    expect(problems).toEqual([
      'append-only trigger fixings_no_update is missing: stored rows could be changed silently',
      'append-only trigger function gpuidx_refuse has been redefined: its SQL is not the one this software creates',
      "GPUIDX-H100-SXM 2026-11-18 r1 (fixing id 1): value column 3.2 differs from its record's 2.2",
    ]);
  });
});
