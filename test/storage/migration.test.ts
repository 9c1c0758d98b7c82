// Migrating a database written by an earlier release, one that already holds published fixings: bodies move out
// of `snapshots` compressed, and no hash, fixing, signature or replay changes. Also when the migration is cut off.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type KyselyPlugin } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dbSource } from '../../src/audit/db-source.js';
import { replayDate } from '../../src/audit/replay.js';
import { verifyDatabase } from '../../src/audit/verify.js';
import { auditRowsOf, bodyStorage, migrateToLatest, openDatabase, snapshotBody, vacuum, type AuditRowValues, type Db } from '../../src/storage/index.js';
import { unit } from '../../src/simulator/market.js';
import { FIXTURES, GPUIDX_BIN } from '../helpers.js';

// Written by gpuidx 0.1.0 (commit 44a8f8a), as fixtures/databases/README.md describes: bodies inline in `snapshots`.
const OLD = join(FIXTURES, 'databases', 'gpuidx-0.1.0-inline-bodies.db');

interface Before {
  bodies: Map<number, Buffer>;
  snapshots: unknown[];
  fixings: unknown[];
  chainHeads: unknown[];
  /** Each fixing's audit rows as `fixing_inputs` held them, with each observation's position. */
  audit: Map<number, AuditRowValues[]>;
}

/** The audit rows of a file that still has `fixing_inputs`, read with plain SQL, by fixing. */
function auditBefore(raw: SqliteDatabase.Database): Map<number, AuditRowValues[]> {
  const rows = raw
    .prepare(
      `SELECT i.fixing_id, i.observation_id, i.snapshot_id, coalesce(o.seq, -i.observation_id) AS seq, i.class, i.reason, i.p, i.f, i.q, i.w, i.w_capped
         FROM fixing_inputs i LEFT JOIN observations o ON o.id = i.observation_id ORDER BY i.fixing_id, i.observation_id`,
    )
    .all() as (AuditRowValues & { fixing_id: number })[];
  const out = new Map<number, AuditRowValues[]>();
  for (const { fixing_id, ...r } of rows) {
    let list = out.get(fixing_id);
    if (!list) out.set(fixing_id, (list = []));
    list.push(r);
  }
  return out;
}

/** Every fixing's audit rows as gpuidx reads them now, by fixing. */
async function auditAfter(db: Db): Promise<Map<number, AuditRowValues[]>> {
  const out = new Map<number, AuditRowValues[]>();
  for (const { id } of await db.selectFrom('fixings').select('id').orderBy('id').execute()) {
    const rows = await auditRowsOf(db, id);
    if (rows.length) out.set(id, rows);
  }
  return out;
}

/** What the old file holds, read with plain SQL, before gpuidx touches it. */
function readBefore(path: string): Before {
  const raw = new SqliteDatabase(path, { readonly: true });
  try {
    const rows = raw.prepare('SELECT id, body FROM snapshots ORDER BY id').all() as { id: number; body: Buffer }[];
    return {
      bodies: new Map(rows.map((r) => [r.id, r.body])),
      snapshots: raw.prepare('SELECT id, sha256, byte_size, content_sha256, parse_outcome FROM snapshots ORDER BY id').all(),
      fixings: raw.prepare('SELECT id, series, date, revision, value, record, signature, input_digest FROM fixings ORDER BY id').all(),
      chainHeads: raw.prepare('SELECT * FROM chain_heads ORDER BY id').all(),
      audit: auditBefore(raw),
    };
  } finally {
    raw.close();
  }
}

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gpuidx-migrate-'));
  path = join(dir, 'old.db');
  copyFileSync(OLD, path);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function expectMigratedIntact(before: Before): Promise<void> {
  const db = await openDatabase(path);
  try {
    // Every body reads back byte for byte, and hashes to the sha256 recorded when it was first stored.
    for (const [id, bytes] of before.bodies) {
      const now = await snapshotBody(db, id);
      expect(now && Buffer.compare(now, bytes)).toBe(0);
    }
    const snapshots = await db.selectFrom('snapshots').select(['id', 'sha256', 'byte_size', 'content_sha256', 'parse_outcome']).orderBy('id').execute();
    expect(snapshots).toEqual(before.snapshots);
    for (const s of snapshots) expect(createHash('sha256').update(before.bodies.get(s.id)!).digest('hex')).toBe(s.sha256);
    expect(
      await db.selectFrom('fixings').select(['id', 'series', 'date', 'revision', 'value', 'record', 'signature', 'input_digest']).orderBy('id').execute(),
    ).toEqual(before.fixings);
    expect(await db.selectFrom('chain_heads').selectAll().orderBy('id').execute()).toEqual(before.chainHeads);
    // Every audit row is in the blocks as it was in fixing_inputs (20 fixings, 399 rows), and the old table is gone.
    expect(await auditAfter(db)).toEqual(before.audit);
    expect([...before.audit.values()].flat()).toHaveLength(399);

    // The body column is gone from the rows every metadata query scans.
    const raw = new SqliteDatabase(path, { readonly: true });
    const columns = raw.prepare("SELECT name FROM pragma_table_info('snapshots')").pluck().all() as string[];
    raw.close();
    expect(columns).not.toContain('body');
    expect(raw2Tables(path)).not.toContain('fixing_inputs');

    // 29 snapshots, 34,539 bytes: 28 partner lines and one Vast search. Bodies under 256 bytes stay as they are;
    // the Vast search (repetitive JSON) is stored brotli-compressed in under a quarter of its size.
    const storage = await bodyStorage(db);
    expect(storage.reduce((n, e) => n + e.bodies, 0)).toBe(29);
    expect(storage.reduce((n, e) => n + e.original_bytes, 0)).toBe(34_539);
    const stored = await db
      .selectFrom('snapshot_bodies as b')
      .innerJoin('snapshots as s', 's.id', 'b.snapshot_id')
      .select(['s.venue', 's.byte_size', 'b.encoding', (eb) => eb.fn<number>('length', ['b.data']).as('stored')])
      .execute();
    for (const b of stored) if (b.byte_size < 256) expect([b.encoding, b.stored]).toEqual(['identity', b.byte_size]);
    const vast = stored.find((b) => b.venue === 'vast')!;
    expect(vast.encoding).toBe('br');
    expect(vast.stored).toBeLessThan(vast.byte_size / 4);

    const report = await verifyDatabase(db);
    expect(report.problems).toEqual([]);
    expect([report.snapshots, report.fixings, report.unsigned]).toEqual([29, 126, 0]);
    const verdicts = [];
    for (const date of ['2026-11-18', '2026-11-19', '2026-11-20']) verdicts.push(...(await replayDate(dbSource(db), date)));
    // 41 series on three dates, and the restated 2026-11-19 revisions of the series the late file touched.
    expect(verdicts).toHaveLength(126);
    expect(verdicts.filter((v) => !v.match)).toEqual([]);
  } finally {
    await db.destroy();
  }
}

/** Runs the migrations with the `nth` statement whose SQL matches refused, as a process killed there would stop. */
async function migrateKilledAt(path: string, matches: (sqlText: string) => boolean, nth: number): Promise<void> {
  let seen = 0;
  const crashAt: KyselyPlugin = {
    transformQuery(args) {
      if (matches(JSON.stringify(args.node)) && ++seen === nth) throw new Error('killed');
      return args.node;
    },
    async transformResult(args) {
      return args.result;
    },
  };
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(path) }), plugins: [crashAt] });
  await expect(migrateToLatest(db)).rejects.toThrow('killed');
  await db.destroy();
}

/**
 * Adds `n` snapshots with large bodies to the 0.1.0 file, written as 0.1.0 wrote them (bodies inline), so that the
 * migration runs long enough to be killed in the middle. Returns each added body by snapshot id.
 */
function addLargeSnapshots(n: number): Map<number, Buffer> {
  const raw = new SqliteDatabase(path);
  const insert = raw.prepare(
    `INSERT INTO snapshots (venue, fetched_at, source, request_method, request_url, body, sha256, byte_size, parser_version, parser_options, parse_outcome, parse_error, content_sha256)
     VALUES ('partner-z', ?, 'file', 'IMPORT', 'file:filler.jsonl', ?, ?, ?, 'generic/1', '{}', 'rejected', 'filler', ?)`,
  );
  const added = new Map<number, Buffer>();
  for (let i = 0; i < n; i++) {
    // ~120 KB of JSON whose numbers vary with i: compressible like a venue's answer, different in every snapshot.
    const body = Buffer.from(
      JSON.stringify({ rows: Array.from({ length: 2000 }, (_, k) => ({ id: i * 2000 + k, price: ((i * 7 + k * 13) % 997) / 100, gpu: 'H100 SXM' })) }),
    );
    const sha = createHash('sha256').update(body).digest('hex');
    const id = Number(insert.run(Date.UTC(2026, 9, 1) + i * 60_000, body, sha, body.length, sha).lastInsertRowid);
    added.set(id, body);
  }
  raw.close();
  return added;
}

const raw2Tables = (file: string) => {
  const raw = new SqliteDatabase(file, { readonly: true });
  const names = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
  raw.close();
  return names;
};

/**
 * Adds `perFixing` audit rows to each of the 0.1.0 file's fixings, written as 0.1.0 wrote them (in fixing_inputs),
 * so that moving them into blocks runs long enough to be killed in the middle. Their observations do not exist
 * (so each reads back with position -observation_id); their snapshots do.
 */
function addAuditRows(perFixing: number): void {
  const raw = new SqliteDatabase(path);
  const insert = raw.prepare(
    'INSERT INTO fixing_inputs (fixing_id, observation_id, snapshot_id, class, reason, p, f, q, w, w_capped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const fixings = raw.prepare('SELECT id FROM fixings ORDER BY id').pluck().all() as number[];
  raw.transaction(() => {
    for (const id of fixings) {
      for (let k = 0; k < perFixing; k++) {
        const u = unit(11, 'audit', id, k);
        insert.run(
          id,
          1_000_000 + k,
          1 + (k % 29),
          k % 3 === 0 ? null : 'H100-SXM',
          k % 4 === 0 ? 'outlier' : null,
          u,
          1,
          u * 1.5,
          k / 6,
          k % 4 === 0 ? null : u / 7,
        );
      }
    }
  })();
  raw.close();
}

describe('migrating a database of gpuidx 0.1.0 that holds signed fixings', () => {
  it('moves every body out of snapshots, compressed, changing no hash, fixing, signature or replay', async () => {
    await expectMigratedIntact(readBefore(path));
  });

  it('returns the freed pages to the disk on request (migrate --vacuum), and the database stays sound', async () => {
    const before = readBefore(path);
    const db = await openDatabase(path);
    try {
      const sizes = await vacuum(db, path);
      expect(sizes.after).toBe(statSync(path).size);
      // The bodies were about a tenth of the 0.1.0 file (34,539 of 352,256 bytes); the rewrite gives their pages back.
      expect(statSync(OLD).size).toBe(352_256);
      expect(sizes.after).toBeLessThan(sizes.before);
    } finally {
      await db.destroy();
    }
    await expectMigratedIntact(before);
  });

  it('survives kill -9 of `gpuidx migrate` at seeded points, again and again: the next start completes it intact', async () => {
    const added = addLargeSnapshots(400);
    const before = readBefore(path);
    const states: string[] = [];
    // Kill delays from a seeded hash, 0.35 .. 0.7 s after spawn: each run gets a little further into the copy before it
    // is killed, so that several kills land inside it (and some before the copy or after its end).
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, [GPUIDX_BIN, '--db', path, 'migrate'], { stdio: 'ignore' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 350 + Math.floor(unit(5, 'migrate-kill', round) * 350));
      const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
      clearTimeout(timer);
      const raw = new SqliteDatabase(path, { readonly: true });
      const hasBodies = (raw.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'snapshot_bodies'").pluck().get() as number) > 0;
      const copied = hasBodies ? (raw.prepare('SELECT count(*) FROM snapshot_bodies').pluck().get() as number) : 0;
      raw.close();
      states.push(`${signal ?? `exit ${code}`}: ${copied} bodies copied`);
      if (signal === null) expect(code, states.join('; ')).toBe(0);
    }
    // Whatever point each kill hit, the next open finishes the move, and every body is the one first stored.
    const db = await openDatabase(path);
    try {
      for (const [id, body] of added) expect((await snapshotBody(db, id))?.equals(body), `snapshot ${id} after ${states.join('; ')}`).toBe(true);
      expect((await verifyDatabase(db)).problems).toEqual([]);
      expect(
        await db.selectFrom('fixings').select(['id', 'series', 'date', 'revision', 'value', 'record', 'signature', 'input_digest']).orderBy('id').execute(),
      ).toEqual(before.fixings);
      const verdicts = [];
      for (const date of ['2026-11-18', '2026-11-19', '2026-11-20']) verdicts.push(...(await replayDate(dbSource(db), date)));
      expect([verdicts.length, verdicts.filter((v) => !v.match)]).toEqual([126, []]);
    } finally {
      await db.destroy();
    }
  }, 120_000);

  it('survives kill -9 in the middle of moving audit rows into blocks: the next start moves the rest, every row as it was', async () => {
    addAuditRows(5000);
    const before = readBefore(path);
    const states: string[] = [];
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, [GPUIDX_BIN, '--db', path, 'migrate'], { stdio: 'ignore' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 350 + Math.floor(unit(5, 'audit-kill', round) * 700));
      const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
      clearTimeout(timer);
      const raw = new SqliteDatabase(path, { readonly: true });
      const moved = raw2Tables(path).includes('fixing_audit') ? (raw.prepare('SELECT count(DISTINCT fixing_id) FROM fixing_audit').pluck().get() as number) : 0;
      raw.close();
      states.push(`${signal ?? `exit ${code}`}: ${moved} fixings moved`);
      if (signal === null) expect(code, states.join('; ')).toBe(0);
    }
    const db = await openDatabase(path);
    try {
      expect(await auditAfter(db), states.join('; ')).toEqual(before.audit);
      expect(raw2Tables(path)).not.toContain('fixing_inputs');
      expect((await verifyDatabase(db)).problems).toEqual([]);
    } finally {
      await db.destroy();
    }
  }, 120_000);

  it('completes on the next start after being cut off between two fixings of the audit move', async () => {
    const before = readBefore(path);
    await migrateKilledAt(path, (q) => q.includes('INSERT INTO fixing_audit'), 7);
    // Six fixings (one block each) moved, the seventh's transaction rolled back; the old table still there.
    const raw = new SqliteDatabase(path, { readonly: true });
    expect(raw.prepare('SELECT count(DISTINCT fixing_id) FROM fixing_audit').pluck().get()).toBe(6);
    raw.close();
    expect(raw2Tables(path)).toContain('fixing_inputs');
    await expectMigratedIntact(before);
  });

  it('completes on the next start after being cut off in the middle of copying bodies', async () => {
    const before = readBefore(path);
    // A crash is simulated by refusing the 10th body insert: the migration stops there, as a killed process would.
    await migrateKilledAt(path, (q) => q.includes('snapshot_bodies') && q.includes('INSERT OR IGNORE'), 10);
    const raw = new SqliteDatabase(path, { readonly: true });
    expect(raw.prepare('SELECT count(*) FROM snapshot_bodies').pluck().get()).toBe(9);
    raw.close();
    await expectMigratedIntact(before);
  });
});
