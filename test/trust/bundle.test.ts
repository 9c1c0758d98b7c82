// Audit bundles as hostile input: forged end to end and re-signed, paths that climb out, key ids that are paths,
// symbolic links and loops, oversized files, malformed manifests, tarballs with links; and the .tar.gz round trip.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleError, exportBundle, openBundle } from '../../src/audit/bundle.js';
import { replayDate } from '../../src/audit/replay.js';
import { importFile } from '../../src/collectors/import.js';
import { fixDate } from '../../src/fixer/index.js';
import { canonicalJson } from '../../src/methodology/canonical.js';
import { memoryLogger } from '../../src/log/index.js';
import type { Signer } from '../../src/signing/index.js';
import { fingerprintOf } from '../../src/signing/registry.js';
import { openDatabase } from '../../src/storage/index.js';
import { FIXTURES, runCli, tempDb, testSigner, type TempDb } from '../helpers.js';

const NOW = Date.UTC(2026, 10, 21, 0, 30);
const PUBLISHER = testSigner(1);
const FORGER = testSigner(7);
const PINNED = { fingerprints: [fingerprintOf(PUBLISHER.publicKeyPem)] };
let t: TempDb;
let scratch: string;
let bundle: string;

function allFiles(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((name) =>
    statSync(join(dir, name)).isDirectory() ? allFiles(root, join(dir, name)) : [relative(root, join(dir, name)).split(sep).join('/')],
  );
}

/** The forger's tool: rewrite the manifest over whatever the folder now holds and sign it with `signer`. */
function remanifest(dir: string, signer: Signer, edit: (m: Record<string, unknown>) => void = () => {}): void {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  manifest.key_id = signer.keyId;
  manifest.files = allFiles(dir)
    .filter((p) => p !== 'manifest.json' && p !== 'manifest.sig')
    .sort()
    .map((path) => {
      const data = readFileSync(join(dir, path));
      return { path, sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
    });
  edit(manifest);
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  writeFileSync(join(dir, 'manifest.json'), text);
  writeFileSync(join(dir, 'manifest.sig'), `${signer.sign(text)}\n`);
}

function copyOf(edit?: (dir: string) => void): string {
  const dir = join(mkdtempSync(join(scratch, 'copy-')), 'bundle');
  cpSync(bundle, dir, { recursive: true });
  edit?.(dir);
  return dir;
}

const gpuidx = (args: string[]) => runCli(args);

beforeAll(async () => {
  t = await tempDb();
  scratch = mkdtempSync(join(tmpdir(), 'gpuidx-bundle-test-'));
  const deps = { db: t.db, clock: () => NOW, log: memoryLogger(), signer: PUBLISHER };
  await importFile(deps, join(FIXTURES, 'market', 'three-days.jsonl'));
  for (const date of ['2026-11-18', '2026-11-19']) await fixDate(deps, { date });
  bundle = join(scratch, 'bundle');
  await exportBundle(t.db, PUBLISHER, { date: '2026-11-19', out: bundle, softwareVersion: '0.1.0', clock: () => NOW, series: ['GPUIDX-H100-SXM'] });
});

afterAll(async () => {
  await t.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

describe('bundles', () => {
  it('round-trips as one .tar.gz with the manifest signature beside it, replaying with the pinned key', async () => {
    const file = join(scratch, 'b.tar.gz');
    await exportBundle(t.db, PUBLISHER, { date: '2026-11-19', out: file, softwareVersion: '0.1.0', clock: () => NOW, series: ['GPUIDX-H100-SXM'] });
    expect(readFileSync(`${file}.sig`, 'utf8')).toBe(readFileSync(join(bundle, 'manifest.sig'), 'utf8'));
    const opened = await openBundle(file, PINNED);
    expect(opened.problems).toEqual([]);
    expect(opened.keys).toEqual([{ key_id: PUBLISHER.keyId, fingerprint: fingerprintOf(PUBLISHER.publicKeyPem) }]);
    const verdicts = await replayDate(opened.source, '2026-11-19');
    expect(verdicts.map((v) => [v.series, v.revision, v.match])).toEqual([['GPUIDX-H100-SXM', 1, true]]);
    // Bodies are read from the extracted folder as replay reaches them: once the bundle is closed (the folder
    // removed), a replay finds none of them, and says so.
    opened.close();
    const [after] = await replayDate(opened.source, '2026-11-19');
    expect(after!.match).toBe(false);
    expect(after!.differences[0]).toMatch(/^snapshot \d+ \([a-z-]+\): its body cannot be read \(snapshots\/\d+\.body is missing or not readable\)$/);
  });

  it("refuses a bundle forged end to end and re-signed with another key, unless told to trust the bundle's own key", async () => {
    const dir = copyOf((d) => {
      const p = join(d, 'fixings', 'GPUIDX-H100-SXM', 'r1.json');
      const file = JSON.parse(readFileSync(p, 'utf8')) as { fixing: Record<string, unknown>; signature: { key_id: string; value: string; payload: string } };
      file.fixing.value = 1.11;
      file.signature = { ...file.signature, key_id: FORGER.keyId, payload: canonicalJson(file.fixing) };
      file.signature.value = FORGER.sign(file.signature.payload);
      writeFileSync(p, JSON.stringify(file, null, 2));
      writeFileSync(join(d, 'keys', `${FORGER.keyId}.pem`), FORGER.publicKeyPem);
      remanifest(d, FORGER);
    });
    const pinned = await openBundle(dir, PINNED);
    expect(pinned.problems[0]).toBe(
      `signed by key ${FORGER.keyId} (fingerprint ${fingerprintOf(FORGER.publicKeyPem)}), which is not a trusted key: refusing the bundle`,
    );
    // Only the publisher's own earlier signature (on the carried-forward value) was made by a trusted key.
    expect(pinned.keys).toEqual([{ key_id: PUBLISHER.keyId, fingerprint: fingerprintOf(PUBLISHER.publicKeyPem) }]);
    // What --trust-bundle-key accepts: everything checks out against the forger's own key.
    expect((await openBundle(dir, 'bundle-key')).problems).toEqual([]);

    const noKey = await gpuidx(['replay', '--bundle', dir]);
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toBe(
      "gpuidx: --bundle needs the publisher's key to trust: --key FILE or --fingerprint SHA256 (from /v1/keys), or --trust-bundle-key to accept the bundle's own key\n",
    );
    const refused = await gpuidx(['replay', '--bundle', dir, '--fingerprint', fingerprintOf(PUBLISHER.publicKeyPem)]);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain('BUNDLE    signed by key');
  }, 60_000);

  it('rejects manifests whose paths leave the bundle, whose key id is a path, or which are not JSON', async () => {
    const cases: [string, (m: Record<string, unknown>) => void, string][] = [
      [
        'dotdot',
        (m) => ((m.files as { path: string }[])[0]!.path = '../../etc/passwd'),
        'manifest.json is malformed: files.0.path: a relative path inside the bundle',
      ],
      [
        'absolute',
        (m) => ((m.files as { path: string }[])[0]!.path = '/etc/passwd'),
        'manifest.json is malformed: files.0.path: a relative path inside the bundle',
      ],
      ['key id', (m) => (m.key_id = '../../x'), 'manifest.json is malformed: key_id: a key id is 16 lower-case hex digits'],
    ];
    for (const [, edit, message] of cases) {
      const dir = copyOf((d) => remanifest(d, PUBLISHER, edit));
      await expect(openBundle(dir, PINNED)).rejects.toThrow(message);
    }
    const notJson = copyOf((d) => writeFileSync(join(d, 'manifest.json'), '{"format": "gpuidx-audit-bundle/1", '));
    await expect(openBundle(notJson, PINNED)).rejects.toThrow(BundleError);
    await expect(openBundle(notJson, PINNED)).rejects.toThrow(/^manifest\.json is not valid JSON: /);
  });

  it('never follows a symbolic link, even a loop, and reads nothing outside the bundle', async () => {
    const outside = join(scratch, 'outside.txt');
    writeFileSync(outside, 'a file outside the bundle');
    const dir = copyOf((d) => {
      const body = allFiles(d).find((p) => p.endsWith('.body'))!;
      rmSync(join(d, body));
      symlinkSync(outside, join(d, body));
      symlinkSync(join(d, 'loop'), join(d, 'loop'));
    });
    const opened = await openBundle(dir, PINNED);
    expect(opened.problems).toContainEqual('loop: a symbolic link; links are never followed in a bundle');
    expect(opened.problems).toContainEqual(expect.stringMatching(/^snapshots\/\d+\.body: a symbolic link; links are never followed in a bundle$/));
    expect(opened.problems).toContainEqual(expect.stringMatching(/^snapshots\/\d+\.body: listed in the manifest but missing \(or not a regular file\)$/));
    const raw = [];
    for await (const s of opened.source.snapshots(0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) raw.push(s);
    expect(raw.some((s) => s.body.toString().includes('outside the bundle'))).toBe(false);
  });

  it('refuses to export a date whose raw body no longer decodes, leaving no partial bundle behind', async () => {
    // A copy of the database with one stored body of the window damaged (its trigger dropped first, as a forger would).
    const path = join(mkdtempSync(join(scratch, 'damaged-')), 'db.db');
    await t.db.destroy();
    cpSync(t.path, path);
    t.db = await openDatabase(t.path);
    const raw = new SqliteDatabase(path);
    raw.exec('DROP TRIGGER snapshot_bodies_no_update');
    raw.prepare("UPDATE snapshot_bodies SET encoding = 'br', data = ? WHERE snapshot_id = 3").run(Buffer.from('garbage'));
    raw.close();
    const db = await openDatabase(path);
    try {
      for (const out of [join(scratch, 'never'), join(scratch, 'never.tar.gz')]) {
        await expect(exportBundle(db, PUBLISHER, { date: '2026-11-19', out, softwareVersion: '0.1.0', clock: () => NOW })).rejects.toThrow(
          /^snapshot 3: stored body cannot be decoded: .+; a bundle carries every input byte for byte, so none is written \(see gpuidx verify\)$/,
        );
        expect(existsSync(out)).toBe(false);
      }
    } finally {
      await db.destroy();
    }
  });

  it('caps file sizes: an oversized file is named and never read', async () => {
    const dir = copyOf();
    // The files over 4096 bytes, found by stat alone, each with its size: exactly these are named.
    const big = allFiles(dir).filter((p) => p !== 'manifest.json' && p !== 'manifest.sig' && statSync(join(dir, p)).size > 4096);
    expect(big.length).toBeGreaterThan(0);
    const opened = await openBundle(dir, PINNED, { maxFileBytes: 4096, maxManifestBytes: 1 << 20, maxTotalBytes: 1 << 30 });
    expect([...opened.problems].sort()).toEqual(big.map((p) => `${p}: ${statSync(join(dir, p)).size} bytes, over the 4096-byte file cap; not read`).sort());
  });

  it('extracts only regular files and folders from a tarball: links and climbing paths are refused', async () => {
    const staging = copyOf((d) => symlinkSync('/etc/hostname', join(d, 'evil-link')));
    const file = join(scratch, 'evil.tar.gz');
    await tar.create({ gzip: true, file, cwd: staging, portable: true }, readdirSync(staging));
    const opened = await openBundle(file, PINNED);
    opened.close();
    expect(opened.problems[0]).toBe('evil-link: a SymbolicLink entry; not extracted');
    expect(existsSync(join(process.cwd(), 'evil-link'))).toBe(false);
  });
});
