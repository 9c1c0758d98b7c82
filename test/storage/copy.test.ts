// Moving a history between engines: gpuidx copy from a SQLite file into PostgreSQL and back to a file keeps every
// row, id, raw byte, signature and chain link, verify and replay pass on each copy, and the copy goes on working.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbSource } from '../../src/audit/db-source.js';
import { replayDate } from '../../src/audit/replay.js';
import { verifyDatabase } from '../../src/audit/verify.js';
import { importFile } from '../../src/collectors/import.js';
import { fixDate } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import { copyDatabase, CopyTargetNotEmptyError, openDatabase, startRun, type Db } from '../../src/storage/index.js';
import type { Database } from '../../src/storage/schema.js';
import { FIXTURES, runCli, tempDb, tempPgDatabase, testSigner, type TempDb } from '../helpers.js';

const DATES = ['2026-11-18', '2026-11-19', '2026-11-20'];
const NOW = Date.UTC(2026, 10, 21, 0, 30);

// Every table with the key that orders it.
const TABLES: [keyof Database, string[]][] = [
  ['collector_runs', ['id']],
  ['snapshots', ['id']],
  ['snapshot_bodies', ['snapshot_id']],
  ['observation_blocks', ['snapshot_id']],
  ['snapshot_issues', ['id']],
  ['signing_keys', ['key_id']],
  ['fixings', ['id']],
  ['fixing_audit', ['fixing_id', 'block']],
  ['chain_heads', ['id']],
  ['publication_runs', ['id']],
  ['settlements', ['id']],
];

async function dump(db: Db): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, key] of TABLES) {
    let q = db.selectFrom(table).selectAll();
    for (const k of key) q = q.orderBy(k as never);
    out[table] = await q.execute();
  }
  return out;
}

let original: TempDb;
let pgCopy: { url: string; drop(): Promise<void> };
let back: TempDb;

beforeAll(async () => {
  original = await tempDb('sqlite');
  const deps = { db: original.db, clock: () => NOW, log: memoryLogger(), signer: testSigner() };
  await importFile(deps, join(FIXTURES, 'market', 'three-days.jsonl'));
  for (const date of DATES) await fixDate(deps, { date });
  await importFile(deps, join(FIXTURES, 'market', 'late-2026-11-19.jsonl'));
  await fixDate(deps, { date: '2026-11-19', restate: { reason: 'late partner-d file' } });
  await startRun(original.db, 'akash', NOW);
  pgCopy = await tempPgDatabase();
  back = await tempDb('sqlite');
});

afterAll(async () => {
  await Promise.all([original?.cleanup(), pgCopy?.drop(), back?.cleanup()]);
});

describe('gpuidx copy', () => {
  it('copies a SQLite file into an empty PostgreSQL database and proves the copy with verify', async () => {
    await original.db.destroy();
    const r = await runCli(['copy', '--from', original.path, '--to', pgCopy.url]);
    original.db = await openDatabase(original.path);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // Counts from the fixture: 28 snapshots (test/audit/replay.test.ts), 126 revisions (123 + 3 restated), one
    // chain head per publication run (three dates, then the restatement), one collector run, one signing key.
    expect(r.stdout).toMatch(/^collector_runs +1\nsnapshots +28\nsnapshot_bodies +28\n/);
    expect(r.stdout).toMatch(/\nsigning_keys +1\nfixings +126\n/);
    expect(r.stdout).toMatch(/\nchain_heads +4\npublication_runs +0\n/);
    expect(r.stdout).toMatch(/copied and verified: 28 snapshots hash to their sha256, 126 fixing revisions agree/);
  });

  it('holds every row of the original, ids and raw bytes included, and replays every revision', async () => {
    const copy = await openDatabase(pgCopy.url);
    try {
      expect(await dump(copy)).toEqual(await dump(original.db));
      const verdicts = [];
      for (const d of DATES) verdicts.push(...(await replayDate(dbSource(copy), d)));
      expect(verdicts).toHaveLength(126);
      expect(verdicts.filter((v) => !v.match)).toEqual([]);
    } finally {
      await copy.destroy();
    }
  });

  it('copies back from PostgreSQL to a file for an auditor, identical again', async () => {
    const copy = await openDatabase(pgCopy.url);
    try {
      const report = await copyDatabase(copy, back.db);
      expect(report).toMatchObject({ snapshots: 28, fixings: 126, chain_heads: 4 });
      expect(await dump(back.db)).toEqual(await dump(original.db));
      expect((await verifyDatabase(back.db)).problems).toEqual([]);
    } finally {
      await copy.destroy();
    }
  });

  it('refuses a target that holds data, and a copy that fails midway leaves its target empty', async () => {
    await expect(copyDatabase(original.db, back.db)).rejects.toThrow(CopyTargetNotEmptyError);
    const fresh = await tempDb('postgres');
    try {
      await expect(
        copyDatabase(original.db, fresh.db, (table) => {
          if (table === 'fixings') throw new Error('the disk filled up');
        }),
      ).rejects.toThrow('the disk filled up');
      expect((await dump(fresh.db)).snapshots).toEqual([]);
      // And the retry succeeds.
      expect(await copyDatabase(original.db, fresh.db)).toMatchObject({ fixings: 126 });
    } finally {
      await fresh.cleanup();
    }
  });

  it('goes on working after the move: new runs and publications number on from the copied ids', async () => {
    const copy = await openDatabase(pgCopy.url);
    try {
      // The copied collector run is id 1; PostgreSQL numbers the next one 2, not 1 again.
      expect(await startRun(copy, 'akash', NOW + 1)).toBe(2);
      const deps = { db: copy, clock: () => NOW, log: memoryLogger(), signer: testSigner() };
      const outcomes = await fixDate(deps, { date: '2026-11-20', restate: { reason: 'after the move' } });
      // Nothing changed in the inputs: every series is unchanged, the chain untouched.
      expect(outcomes.every((o) => o.action === 'unchanged')).toBe(true);
      expect(outcomes).toHaveLength(41);
      expect((await verifyDatabase(copy)).problems).toEqual([]);
    } finally {
      await copy.destroy();
    }
  });
});
