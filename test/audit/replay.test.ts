// Replay, export and tamper evidence on multi-day fixture data through the real import and fixing path.
import { createHash, createPublicKey } from 'node:crypto';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { brotliDecompressSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportBundle, methodologyChanges, openBundle } from '../../src/audit/bundle.js';
import { dbSource } from '../../src/audit/db-source.js';
import { replayDate, type Verdict } from '../../src/audit/replay.js';
import { verifyDatabase } from '../../src/audit/verify.js';
import { importFile } from '../../src/collectors/import.js';
import { fixDate } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import { fingerprintOf } from '../../src/signing/registry.js';
import { openDatabase, type Db } from '../../src/storage/index.js';
import { FIXTURES, tempDb, testSigner, type TempDb } from '../helpers.js';

const DATES = ['2026-11-18', '2026-11-19', '2026-11-20'];
const NOW = Date.UTC(2026, 10, 21, 0, 30);
let t: TempDb;
let scratch: string;

async function replayAll(db: Db): Promise<Verdict[]> {
  const out: Verdict[] = [];
  for (const d of DATES) out.push(...(await replayDate(dbSource(db), d)));
  return out;
}

/** A copy of the test database opened raw, with the named append-only triggers dropped, to tamper with it. */
async function tampered(triggers: string[], edit: (raw: SqliteDatabase.Database) => void): Promise<Db> {
  const path = join(mkdtempSync(join(scratch, 'db-')), 'copy.db');
  copyFileSync(t.path, path);
  const raw = new SqliteDatabase(path);
  raw.pragma('foreign_keys = OFF');
  for (const name of triggers) raw.exec(`DROP TRIGGER ${name}`);
  edit(raw);
  raw.close();
  return openDatabase(path);
}

beforeAll(async () => {
  t = await tempDb();
  scratch = mkdtempSync(join(tmpdir(), 'gpuidx-audit-'));
  const deps = { db: t.db, clock: () => NOW, log: memoryLogger(), signer: testSigner() };
  await importFile(deps, join(FIXTURES, 'market', 'three-days.jsonl'));
  for (const date of DATES) await fixDate(deps, { date });
  await importFile(deps, join(FIXTURES, 'market', 'late-2026-11-19.jsonl'));
  await fixDate(deps, { date: '2026-11-19', restate: { reason: 'late partner-d file' } });
  // Checkpoint so that file copies hold everything.
  await t.db.destroy();
  t.db = await openDatabase(t.path);
});

afterAll(async () => {
  await t.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

describe('replay from the database', () => {
  it('re-derives every published revision bit for bit, including the one a restatement replaced', async () => {
    const verdicts = await replayAll(t.db);
    expect(verdicts).toHaveLength(41 * 3 + 3);
    expect(verdicts.filter((v) => !v.match)).toEqual([]);
    const restated = verdicts.filter((v) => v.series === 'GPUIDX-H100-SXM' && v.date === '2026-11-19').map((v) => [v.revision, v.match]);
    expect(restated).toEqual([
      [1, true],
      [2, true],
    ]);
  });

  it('finds the database sound: triggers, body hashes, records and an unbroken hash chain', async () => {
    // The key's fingerprint, computed here straight from the DER bytes: sha256 of the SPKI encoding.
    const der = createPublicKey(testSigner().publicKeyPem).export({ type: 'spki', format: 'der' });
    const fingerprint = createHash('sha256').update(der).digest('hex');
    // Three dates published plus one restatement run: four signed chain heads.
    expect(await verifyDatabase(t.db)).toEqual({
      snapshots: 28,
      fixings: 126,
      unsigned: 0,
      chainHeads: 4,
      keys: [{ key_id: fingerprint.slice(0, 16), fingerprint }],
      problems: [],
    });
  });

  it('names the snapshot whose body had a byte flipped, in verify and in replay', async () => {
    // The forger decodes the stored form, edits the bytes and stores them back as plain bytes.
    const db = await tampered(['snapshot_bodies_no_update'], (raw) => {
      const stored = raw.prepare('SELECT encoding, data FROM snapshot_bodies WHERE snapshot_id = 23').get() as { encoding: string; data: Buffer };
      const body = stored.encoding === 'br' ? brotliDecompressSync(stored.data) : stored.data;
      const i = body.indexOf('"price_usd_per_hour":2.346');
      expect(i).toBeGreaterThan(0);
      body[i + 25] = '9'.charCodeAt(0); // b-2's price 2.346 → 2.349
      raw.prepare("UPDATE snapshot_bodies SET encoding = 'identity', data = ? WHERE snapshot_id = 23").run(body);
    });
    try {
      const report = await verifyDatabase(db);
      expect(report.problems).toEqual([
        'append-only trigger snapshot_bodies_no_update is missing: stored rows could be changed silently',
        expect.stringMatching(/^snapshot 23 \(partner-b\): body sha256 [0-9a-f]{12}… differs from the recorded [0-9a-f]{12}…$/),
      ]);
      const [v] = await replayDate(dbSource(db), '2026-11-20', ['GPUIDX-H100-SXM']);
      expect(v!.differences[0]).toMatch(/^snapshot 23 \(partner-b\): body sha256 /);
      // The changed price moves the VWAP and the row's numbers; the digest names the changed input.
      expect(v!.differences).toContain('vwap: published 2.3044, replayed 2.3045');
      expect(v!.differences.some((d) => d.startsWith('input partner-b b-2 ') && d.includes('p published 2.346, replayed 2.349'))).toBe(true);
    } finally {
      await db.destroy();
    }
  });

  it('names a snapshot whose stored body no longer decodes, or was removed, and replay reads no rows from it', async () => {
    const db = await tampered(['snapshot_bodies_no_update', 'snapshot_bodies_no_delete'], (raw) => {
      raw.prepare("UPDATE snapshot_bodies SET encoding = 'br', data = ? WHERE snapshot_id = 23").run(Buffer.from('not brotli at all'));
      raw.prepare('DELETE FROM snapshot_bodies WHERE snapshot_id = 24').run();
    });
    try {
      const report = await verifyDatabase(db);
      expect(report.problems.slice(2)).toEqual([
        expect.stringMatching(/^snapshot 23 \(partner-b\): its body cannot be read \(.+\)$/),
        expect.stringMatching(/^snapshot 24 \([a-z-]+\): its body cannot be read \(no stored body\)$/),
      ]);
      // Replay says so too, instead of failing: the inputs of the unreadable snapshot are missing from the replay.
      const [v] = await replayDate(dbSource(db), '2026-11-20', ['GPUIDX-H100-SXM']);
      expect(v!.match).toBe(false);
      expect(v!.differences[0]).toMatch(/^snapshot 23 \(partner-b\): its body cannot be read \(.+\)$/);
    } finally {
      await db.destroy();
    }
  });

  it('catches an edited fixing: the record replays to a different value and the hash chain breaks after it', async () => {
    const db = await tampered(['fixings_no_update'], (raw) => {
      const row = raw.prepare("SELECT id, record FROM fixings WHERE series = 'GPUIDX-H100-SXM' AND date = '2026-11-20'").get() as {
        id: number;
        record: string;
      };
      raw.prepare('UPDATE fixings SET record = ?, value = 2.3 WHERE id = ?').run(row.record.replace('"value":2.244', '"value":2.3'), row.id);
    });
    try {
      const [v] = await replayDate(dbSource(db), '2026-11-20', ['GPUIDX-H100-SXM']);
      expect(v!.differences).toEqual(['value: published 2.3, replayed 2.244']);
      const problems = (await verifyDatabase(db)).problems;
      expect(problems[0]).toBe('append-only trigger fixings_no_update is missing: stored rows could be changed silently');
      // The signature made at publication no longer verifies, and the next revision's link no longer matches.
      expect(problems[1]).toMatch(
        /^GPUIDX-H100-SXM 2026-11-20 r1 \(fixing id \d+\): signature does not verify: the revision was changed after it was published$/,
      );
      expect(problems[2]).toMatch(
        /^GPUIDX-H100-SXM-SPOT 2026-11-20 r1 \(fixing id \d+\): hash chain broken: it links to [0-9a-f]{12}…, but the revision published before it, GPUIDX-H100-SXM 2026-11-20 r1 \(fixing id \d+\), now hashes to [0-9a-f]{12}… \(edited, or a revision between them removed\)$/,
      );
      expect(problems).toHaveLength(3);
    } finally {
      await db.destroy();
    }
  });

  it('catches a value column edited behind its record', async () => {
    const db = await tampered(['fixings_no_update'], (raw) =>
      raw.exec("UPDATE fixings SET value = 9.99 WHERE series = 'GPUIDX-A100-SXM-80' AND date = '2026-11-18'"),
    );
    try {
      expect((await verifyDatabase(db)).problems[1]).toMatch(
        /^GPUIDX-A100-SXM-80 2026-11-18 r1 \(fixing id \d+\): value column 9\.99 differs from its record's 1\.1$/,
      );
    } finally {
      await db.destroy();
    }
  });

  it('catches a removed snapshot', async () => {
    const db = await tampered(['snapshots_no_delete', 'observation_blocks_no_delete', 'snapshot_bodies_no_delete'], (raw) => {
      raw.exec(
        'DELETE FROM observation_blocks WHERE snapshot_id = 20; DELETE FROM snapshot_bodies WHERE snapshot_id = 20; DELETE FROM snapshots WHERE id = 20',
      );
    });
    try {
      const problems = (await verifyDatabase(db)).problems;
      expect(problems).toContain('snapshot 20 is missing, yet the audit of fixing id 83 names it');
      const [v] = await replayDate(dbSource(db), '2026-11-20', ['GPUIDX-H100-SXM']);
      expect(v!.match).toBe(false);
      expect(v!.differences).toContain('4 published audit row(s) have no replayed input (a snapshot missing or changed?)');
      expect(v!.differences.some((d) => d.startsWith('input_digest: published '))).toBe(true);
    } finally {
      await db.destroy();
    }
  });
});

describe('audit bundles', () => {
  let bundle: string;
  const signer = () => testSigner();
  const TRUST = { fingerprints: [fingerprintOf(testSigner().publicKeyPem)] };

  beforeAll(async () => {
    bundle = join(scratch, 'bundle-2026-11-19');
    await exportBundle(t.db, signer(), { date: '2026-11-19', out: bundle, softwareVersion: '0.1.0', clock: () => NOW });
  });

  /** A copy of the bundle somewhere else, optionally with one file changed. */
  function copyOf(edit?: (dir: string) => void): string {
    const dir = join(mkdtempSync(join(scratch, 'copy-')), 'bundle');
    cpSync(bundle, dir, { recursive: true });
    edit?.(dir);
    return dir;
  }

  it('replays with no database at all, every revision matching, after checking hashes and signatures', async () => {
    const opened = await openBundle(copyOf(), TRUST);
    expect(opened.problems).toEqual([]);
    expect(opened.manifest.files.filter((f) => f.path.startsWith('snapshots/')).length).toBe(2 * 19); // 18 day snapshots + the late one
    const verdicts = await replayDate(opened.source, '2026-11-19');
    expect(verdicts).toHaveLength(44);
    expect(verdicts.filter((v) => !v.match)).toEqual([]);
  });

  it('replays carried-forward fixings from a bundle with the values each series carried', async () => {
    // A day with no data at all: every series that had a value carries it forward.
    const db = await tampered([], () => {});
    try {
      await fixDate({ db, clock: () => Date.UTC(2026, 10, 26, 0, 30), log: memoryLogger(), signer: testSigner() }, { date: '2026-11-25' });
      const dir = join(mkdtempSync(join(scratch, 'carried-')), 'bundle');
      await exportBundle(db, signer(), { date: '2026-11-25', out: dir, softwareVersion: '0.1.0', clock: () => NOW });
      const verdicts = await replayDate((await openBundle(dir, TRUST)).source, '2026-11-25');
      const fromDb = await replayDate(dbSource(db), '2026-11-25');
      expect(verdicts.filter((v) => !v.match)).toEqual([]);
      expect(fromDb.filter((v) => !v.match)).toEqual([]);
      const carried = await db
        .selectFrom('fixings')
        .select(['series', 'value', 'carried_from'])
        .where('date', '=', '2026-11-25')
        .where('status', '=', 'carried_forward')
        .orderBy('series')
        .execute();
      expect(carried.find((f) => f.series === 'GPUIDX-H100-SXM')).toEqual({ series: 'GPUIDX-H100-SXM', value: 2.244, carried_from: '2026-11-20' });
      expect(carried.length).toBeGreaterThan(3);
    } finally {
      await db.destroy();
    }
  });

  it('names a flipped byte in a raw body', async () => {
    const dir = copyOf((d) => {
      const p = join(d, 'snapshots', '10.body');
      const b = readFileSync(p);
      const i = b.indexOf('"price_usd_per_hour":2.121');
      expect(i).toBeGreaterThan(0);
      b[i + 25] = '2'.charCodeAt(0); // a-2's price 2.121 → 2.122
      writeFileSync(p, b);
    });
    const opened = await openBundle(dir, TRUST);
    expect(opened.problems).toEqual([expect.stringMatching(/^snapshots\/10\.body: sha256 [0-9a-f]{12}… differs from the manifest's [0-9a-f]{12}…$/)]);
    const [first] = await replayDate(opened.source, '2026-11-19', ['GPUIDX-H100-SXM']);
    expect(first!.match).toBe(false);
    expect(first!.differences.some((d) => d.startsWith('input partner-a a-2 ') && d.includes('p published 2.121, replayed 2.122'))).toBe(true);
  });

  it('names a changed parameter', async () => {
    const dir = copyOf((d) => {
      const p = join(d, 'methodology', '1.0.0.json');
      writeFileSync(p, readFileSync(p, 'utf8').replace('"outlier_k": 3.5', '"outlier_k": 4'));
    });
    const opened = await openBundle(dir, TRUST);
    // "3.5" became "4": two bytes fewer, and another hash.
    expect(opened.problems).toEqual([
      'methodology/1.0.0.json: 11152 bytes, the manifest says 11154',
      expect.stringMatching(/^methodology\/1\.0\.0\.json: sha256 /),
    ]);
    expect(methodologyChanges(opened.source.methodology('1.0.0'))).toEqual(['parameters.outlier_k: published 3.5, bundle 4']);
    const [v] = await replayDate(opened.source, '2026-11-19', ['GPUIDX-H100-SXM']);
    expect(v!.differences[0]).toMatch(/^methodology 1\.0\.0 parameters hash to [0-9a-f]{12}…, the fixing names 74fc0518b012…$/);
  });

  it('names an edited fixing and a broken signature', async () => {
    const dir = copyOf((d) => {
      const p = join(d, 'fixings', 'GPUIDX-H100-SXM', 'r2.json');
      writeFileSync(p, readFileSync(p, 'utf8').replace('"value": 2.222', '"value": 2.3'));
      const q = join(d, 'fixings', 'GPUIDX-A100-SXM-80', 'r1.json');
      const file = JSON.parse(readFileSync(q, 'utf8')) as { signature: { value: string } };
      file.signature.value = `${file.signature.value[0] === 'A' ? 'B' : 'A'}${file.signature.value.slice(1)}`;
      writeFileSync(q, JSON.stringify(file, null, 2));
    });
    const problems = (await openBundle(dir, TRUST)).problems;
    expect(problems).toContain("fixings/GPUIDX-H100-SXM/r2.json: the signed payload is not the fixing's canonical JSON (the fixing was edited)");
    expect(problems).toContain('fixings/GPUIDX-A100-SXM-80/r1.json: signature does not verify');
    expect(problems.filter((p) => p.includes('differs from the manifest'))).toHaveLength(2);
  });
});
