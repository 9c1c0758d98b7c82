// Several gpuidx processes on one database at once: two publishers for one date while an import writes. Nobody
// crashes, the date is published once, every series at one watermark; a read-only command never creates a database.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyDatabase } from '../../src/audit/verify.js';
import { importFile } from '../../src/collectors/import.js';
import { memoryLogger } from '../../src/log/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { CLI_ENV, FIXTURES, runCli, tempDb } from '../helpers.js';

const gpuidx = (args: string[]) => runCli(args);

describe('concurrent processes', () => {
  it('two fix processes for one date while an import writes: one publication, all series at one watermark, no stack trace', async () => {
    const t = await tempDb();
    try {
      await importFile({ db: t.db, clock: Date.now, log: memoryLogger() }, join(FIXTURES, 'market', 'three-days.jsonl'));
      await t.db.destroy();
      const [a, b, imported] = await Promise.all([
        gpuidx(['--db', t.path, 'fix', '--date', '2026-11-19']),
        gpuidx(['--db', t.path, 'fix', '--date', '2026-11-19']),
        gpuidx(['--db', t.path, 'import', join(FIXTURES, 'market', 'late-2026-11-19.jsonl')]),
      ]);
      for (const r of [a, b, imported]) expect(r.stderr).not.toMatch(/^\s+at /m); // no stack frame
      expect(imported.status).toBe(0);
      const outputs = [a, b].map((r) => r.stdout.trim().split('\n'));
      // The first publishes all 41 series; the second waits for the lock, then finds them published: either
      // unchanged (it read the same snapshots) or needing a restatement (the late file landed in between).
      const published = outputs.filter((lines) => lines.every((l) => / revision 1 {2}(normal|extended_window|carried_forward|insufficient) /.test(l)));
      expect(published).toHaveLength(1);
      expect(published[0]).toHaveLength(41);
      const second = outputs.find((lines) => lines !== published[0])!;
      expect(second.every((l) => l.includes('unchanged (same inputs)')) || second.some((l) => l.includes('NOT PUBLISHED: inputs differ'))).toBe(true);
      expect([a.status, b.status].sort()).toEqual(second.every((l) => l.includes('unchanged')) ? [0, 0] : [0, 1]);

      t.db = await openDatabase(t.path);
      const rows = await t.db.selectFrom('fixings').select(['series', 'revision', 'inputs_through_snapshot']).where('date', '=', '2026-11-19').execute();
      expect(rows).toHaveLength(41);
      expect(new Set(rows.map((r) => r.revision))).toEqual(new Set([1]));
      expect(new Set(rows.map((r) => r.inputs_through_snapshot)).size).toBe(1);
      expect((await verifyDatabase(t.db)).problems).toEqual([]);
    } finally {
      await t.cleanup();
    }
  }, 120_000);

  it('verify, replay and serve refuse a database path that does not exist, creating nothing', async () => {
    const t = await tempDb();
    try {
      const missing = join(t.dir, 'typo', 'gpuidx.db');
      for (const args of [['verify'], ['replay', '--date', '2026-11-19'], ['serve', '--port', '0']]) {
        const r = await gpuidx(['--db', missing, ...args]);
        expect(r.status).toBe(2);
        expect(r.stderr).toBe(`gpuidx: no database at ${missing}: check --db / GPUIDX_DB (this command never creates one)\n`);
      }
      expect(existsSync(join(t.dir, 'typo'))).toBe(false);
    } finally {
      await t.cleanup();
    }
  }, 120_000);
});

describe('a writer that cannot get the lock', () => {
  it('gives up after the busy timeout with one line and exit code 3', async () => {
    const t = await tempDb();
    const { default: SqliteDatabase } = await import('better-sqlite3');
    try {
      await importFile({ db: t.db, clock: Date.now, log: memoryLogger() }, join(FIXTURES, 'market', 'three-days.jsonl'));
      await t.db.destroy();
      // Another process holds the write lock for as long as the command runs: no race with any clock.
      const holder = new SqliteDatabase(t.path);
      holder.exec('BEGIN IMMEDIATE');
      const r = await runCli(['--db', t.path, 'fix', '--date', '2026-11-19'], { ...CLI_ENV, GPUIDX_BUSY_TIMEOUT_MS: '200' });
      holder.exec('ROLLBACK');
      holder.close();
      expect(r.stderr.trim().split('\n').at(-1)).toBe(
        'gpuidx: the database is locked by another gpuidx process (waited past the busy timeout); try again when it has finished',
      );
      expect(r.status).toBe(3);
      t.db = await openDatabase(t.path);
      expect(await t.db.selectFrom('fixings').select('id').execute()).toEqual([]);
    } finally {
      await t.cleanup();
    }
  }, 60_000);
});

describe('many writers on one PostgreSQL database', () => {
  it('three collectors storing the same snapshots at once keep one copy of each, and two publishers publish the date once', async () => {
    const t = await tempDb('postgres');
    // Each writer has its own connection pool, as a process on another machine would.
    const writers = await Promise.all([0, 1, 2].map(() => openDatabase(t.path)));
    try {
      const log = memoryLogger();
      const file = join(FIXTURES, 'market', 'three-days.jsonl');
      const imports = await Promise.all(writers.map((db) => importFile({ db, clock: Date.now, log }, file)));
      // The file has 27 lines, one snapshot each: each stored once, by whichever writer came first.
      expect(imports.reduce((n, r) => n + r.snapshots, 0)).toBe(27);
      expect(imports.reduce((n, r) => n + r.duplicates, 0)).toBe(2 * 27);
      const counted = await t.db
        .selectFrom('snapshots')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(counted.n).toBe(27);

      const NOW = Date.UTC(2026, 10, 21, 0, 30);
      const { fixDate } = await import('../../src/fixer/index.js');
      const { testSigner } = await import('../helpers.js');
      const [a, b] = await Promise.all(writers.slice(0, 2).map((db) => fixDate({ db, clock: () => NOW, log, signer: testSigner() }, { date: '2026-11-19' })));
      const actions = [a!, b!].map((o) => [...new Set(o.map((x) => x.action))]);
      // One publishes all 41 series; the other waits for the write lock, then finds each of them unchanged.
      expect(actions.sort()).toEqual([['published'], ['unchanged']]);
      const rows = await t.db.selectFrom('fixings').select(['revision', 'inputs_through_snapshot']).execute();
      expect(rows).toHaveLength(41);
      expect(new Set(rows.map((r) => `${r.revision} ${r.inputs_through_snapshot}`))).toEqual(new Set(['1 27']));
      expect((await verifyDatabase(t.db)).problems).toEqual([]);
    } finally {
      await Promise.all(writers.map((db) => db.destroy()));
      await t.cleanup();
    }
  });
});
