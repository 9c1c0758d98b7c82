// Audit bundles: a folder holding everything needed to replay one date's published fixings with no database:
// raw snapshot bytes and metadata, the methodology parameters, the signed fixings with their audit rows, the
// values they could carry forward (signed), the public key, and a signed manifest of every file's sha256.
// The format is documented in methodology/AUDIT.md so that an auditor can write their own replayer.
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import * as tar from 'tar';
import { z } from 'zod';
import { fingerprintOf } from '../signing/registry.js';
import { historyPoint, publishedFixing, signedPayload, type PublishedFixing } from '../fixer/published.js';
import { canonicalJson } from '../methodology/canonical.js';
import { inputWindow } from '../methodology/fixing.js';
import { loadMethodology, methodologySchema, parameterHash, type Methodology } from '../methodology/params.js';
import { verifyPayload, type FixingSignature, type Signer } from '../signing/index.js';
import {
  auditColumnsOfRows,
  auditSha256,
  BodyDecodeError,
  fixingAt,
  keyedAuditRows,
  latestChainHead,
  previousValues,
  rawSnapshotsInWindow,
  revisionsOfDate,
  signingKeys,
  readSnapshotBody,
  trailingHistory,
  type Db,
  type Fixing,
} from '../storage/index.js';
import type { HistoryPoint } from '../methodology/types.js';
import { toRawSnapshot } from './db-source.js';
import type { PublishedAuditRow, PublishedRevision, RawSnapshot, ReplaySource } from './replay.js';

export const BUNDLE_FORMAT = 'gpuidx-audit-bundle/1';

interface ManifestFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface Manifest {
  format: typeof BUNDLE_FORMAT;
  created_at: string;
  software_version: string;
  date: string;
  series: string[];
  key_id: string;
  files: ManifestFile[];
}

interface SignedDoc {
  fixing: PublishedFixing;
  /** As stored at publication; null for revisions published before signatures were stored. */
  signature: FixingSignature | null;
}

export interface OpenedBundle {
  manifest: Manifest;
  /** Problems found checking the manifest, its signature, file hashes, fixing signatures and keys; empty when sound. */
  problems: string[];
  source: ReplaySource;
  /** The trusted keys that signed what was checked. */
  keys: { key_id: string; fingerprint: string }[];
  /** Releases the bundle: a tarball's extracted folder is removed (its bodies are read from it as replay goes). */
  close(): void;
}

const keyIdOfFingerprint = (fingerprint: string) => fingerprint.slice(0, 16);

/** One published revision as stored in a bundle. */
export interface BundleFixingFile extends SignedDoc {
  /** The published fixing whose value this revision could carry forward (latest earlier value), or null. */
  previous: Record<string, SignedDoc>;
  /**
   * Methodology v2: the trailing fixings the revision was compared with (coverage, degraded flag), oldest first,
   * each with its stored evidence JSON, whose sha256 the signed document carries.
   */
  history?: (SignedDoc & { evidence: string })[];
  audit: PublishedAuditRow[];
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

export interface ExportOptions {
  date: string;
  series?: readonly string[];
  out: string;
  softwareVersion: string;
  clock: () => number;
}

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

/** The canonical hash of a bundle's audit rows, or null for rows that cannot have one (not the shape of audit rows). */
function auditHashOf(rows: unknown): string | null {
  try {
    return Array.isArray(rows) ? auditSha256(auditColumnsOfRows(rows)) : null;
  } catch {
    return null;
  }
}

/** Writes the audit bundle of a date: a folder, or a single `.tar.gz` (with the manifest's detached signature beside it). */
export async function exportBundle(db: Db, signer: Signer, opts: ExportOptions): Promise<Manifest> {
  if (opts.out.endsWith('.tar.gz')) return exportTarball(db, signer, opts);
  if (existsSync(opts.out) && readdirSync(opts.out).length > 0) throw new BundleError(`${opts.out} is not empty; choose a new folder`);
  const revisions = await revisionsOfDate(db, opts.date, opts.series);
  if (revisions.length === 0) throw new BundleError(`no published fixing for ${opts.date}${opts.series ? ` (${opts.series.join(', ')})` : ''}`);
  // Each file is written as it is made, and only its hash and size kept: a day of full-size searches is far larger
  // than memory. A failed export removes what it wrote (no reader accepts a folder without its manifest anyway).
  const files = new Map<string, ManifestFile>();
  const put = (path: string, data: Buffer | string) => {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
    mkdirSync(dirname(join(opts.out, path)), { recursive: true });
    writeFileSync(join(opts.out, path), bytes);
    files.set(path, { path, sha256: sha256(bytes), bytes: bytes.length });
  };
  const created = !existsSync(opts.out);
  try {
    return await writeBundle();
  } catch (err) {
    if (created) rmSync(opts.out, { recursive: true, force: true });
    else for (const entry of readdirSync(opts.out)) rmSync(join(opts.out, entry), { recursive: true, force: true });
    throw err;
  }

  async function writeBundle(): Promise<Manifest> {
    const registry = await signingKeys(db);
    const signers = new Set<string>([signer.keyId]);
    // Each revision goes out with the signature stored when it was published: an export never signs a fixing.
    const asPublished = (row: Fixing): SignedDoc => {
      const fixing = publishedFixing(row);
      if (row.key_id) signers.add(row.key_id);
      return {
        fixing,
        signature:
          row.signature !== null && row.key_id !== null
            ? { algorithm: 'Ed25519', key_id: row.key_id, value: row.signature, payload: signedPayload(fixing) }
            : null,
      };
    };

    const methodologies = new Map<string, Methodology>();
    let through = 0;
    let from = Number.POSITIVE_INFINITY;
    let to = 0;
    for (const row of revisions) {
      let m = methodologies.get(row.methodology_version);
      if (!m) methodologies.set(row.methodology_version, (m = loadMethodology(row.methodology_version)));
      through = Math.max(through, row.inputs_through_snapshot ?? 0);
      const window = inputWindow(opts.date, m);
      from = Math.min(from, window.from);
      to = Math.max(to, window.to);
      const previous: Record<string, SignedDoc> = {};
      for (const [series, v] of await previousValues(db, opts.date, row.id, row.series)) {
        const source = await fixingAt(db, series, v.date);
        if (source) previous[series] = asPublished(source);
      }
      const audit = await keyedAuditRows(db, row.id);
      const days = m.parameters.coverage_days;
      const history = days
        ? ((await trailingHistory(db, opts.date, days, row.id, row.series)).get(row.series) ?? []).map((h) => ({ ...asPublished(h), evidence: h.evidence }))
        : undefined;
      const file: BundleFixingFile = { ...asPublished(row), previous, ...(history ? { history } : {}), audit };
      put(`fixings/${row.series}/r${row.revision}.json`, json(file));
    }
    for (const [v, m] of methodologies) put(`methodology/${v}.json`, json(m));
    for (const s of await rawSnapshotsInWindow(db, from, to, through)) {
      const body = await readSnapshotBody(db, s.id);
      if (!Buffer.isBuffer(body)) {
        const what = body.damaged ? new BodyDecodeError(s.id, body.unreadable).message : `snapshot ${s.id} has no stored body`;
        throw new BundleError(`${what}; a bundle carries every input byte for byte, so none is written (see gpuidx verify)`);
      }
      put(`snapshots/${s.id}.body`, body);
      put(`snapshots/${s.id}.json`, json({ ...s, parser_options: JSON.parse(s.parser_options) as unknown }));
    }
    // The chain head standing at export, so that a bundle also hands over a hash to keep (verify --head).
    const head = await latestChainHead(db);
    if (head) {
      signers.add(head.key_id);
      put(
        'chain-head.json',
        json({
          head: JSON.parse(head.payload) as unknown,
          signature: { algorithm: 'Ed25519', key_id: head.key_id, value: head.signature, payload: head.payload },
        }),
      );
    }
    for (const keyId of signers) {
      const pem = keyId === signer.keyId ? signer.publicKeyPem : registry.find((k) => k.key_id === keyId)?.public_key_pem;
      if (pem) put(`keys/${keyId}.pem`, pem);
    }

    const manifest: Manifest = {
      format: BUNDLE_FORMAT,
      created_at: new Date(opts.clock()).toISOString(),
      software_version: opts.softwareVersion,
      date: opts.date,
      series: [...new Set(revisions.map((r) => r.series))].sort(),
      key_id: signer.keyId,
      files: [...files.values()].sort((a, b) => (a.path < b.path ? -1 : 1)),
    };
    const manifestBytes = json(manifest);
    writeFileSync(join(opts.out, 'manifest.json'), manifestBytes);
    writeFileSync(join(opts.out, 'manifest.sig'), `${signer.sign(manifestBytes)}\n`);
    return manifest;
  }
}

/** The bundle as one gzipped tar (made by node-tar, portable headers, no owner or mtime) plus `FILE.sig`, the manifest's signature. */
async function exportTarball(db: Db, signer: Signer, opts: ExportOptions): Promise<Manifest> {
  if (existsSync(opts.out)) throw new BundleError(`${opts.out} exists; choose a new file name`);
  const staging = mkdtempSync(join(tmpdir(), 'gpuidx-bundle-'));
  try {
    const manifest = await exportBundle(db, signer, { ...opts, out: staging });
    const entries = ['manifest.json', 'manifest.sig', ...manifest.files.map((f) => f.path)];
    await tar.create({ gzip: true, file: opts.out, cwd: staging, portable: true, noMtime: true }, entries);
    copyFileSync(join(staging, 'manifest.sig'), `${opts.out}.sig`);
    return manifest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Limits on what a bundle may hold: it is input from outside, read as hostile. */
export interface BundleLimits {
  /** Largest single file (default 1 GiB). */
  maxFileBytes: number;
  /** Largest manifest (default 64 MiB). */
  maxManifestBytes: number;
  /** Largest total of all files (default 16 GiB). */
  maxTotalBytes: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = { maxFileBytes: 1 << 30, maxManifestBytes: 64 << 20, maxTotalBytes: 16 * 2 ** 30 };

/** Which publisher keys a reader trusts: the fingerprints it pinned, or (explicitly, loudly) whatever the bundle carries. */
export type BundleTrust = { fingerprints: readonly string[] } | 'bundle-key';

// A manifest path: relative segments of safe characters only, so no path can leave the bundle.
const SAFE_PATH = /^(?:[A-Za-z0-9_][A-Za-z0-9._-]*\/)*[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const KEY_ID = /^[0-9a-f]{16}$/;

const manifestSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  created_at: z.string(),
  software_version: z.string(),
  date: z.iso.date(),
  series: z.array(z.string()),
  key_id: z.string().regex(KEY_ID, 'a key id is 16 lower-case hex digits'),
  files: z.array(
    z.object({
      path: z
        .string()
        .regex(SAFE_PATH, 'a relative path inside the bundle (no "..", no leading "/", plain characters)')
        .refine((p) => !p.split('/').includes('..'), 'no ".." segments'),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      bytes: z.number().int().nonnegative(),
    }),
  ),
});

/** Every entry under `root` as bundle paths, sorted, never following a symbolic link (reported instead). */
function listFiles(root: string, problems: string[], dir = root): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const path = relative(root, full).split(sep).join('/');
    const st = lstatSync(full);
    if (st.isSymbolicLink()) problems.push(`${path}: a symbolic link; links are never followed in a bundle`);
    else if (st.isDirectory()) out.push(...listFiles(root, problems, full));
    else if (st.isFile()) out.push(path);
    else problems.push(`${path}: not a regular file`);
  }
  return out.sort();
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Opens a bundle (a folder or a `.tar.gz`) and checks it: the manifest's shape and signature, every file's sha256
 * (streamed, sizes capped), every fixing's signature, and that every key that signed is trusted. Paths are confined
 * to the bundle; symbolic links are reported, never followed.
 */
export async function openBundle(location: string, trust: BundleTrust, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): Promise<OpenedBundle> {
  if (!existsSync(location)) throw new BundleError(`${location} does not exist`);
  if (location.endsWith('.tar.gz') && lstatSync(location).isFile()) return openTarball(location, trust, limits);
  if (!lstatSync(location).isDirectory()) throw new BundleError(`${location} is neither a bundle folder nor a .tar.gz`);
  const dir = location;
  const problems: string[] = [];
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new BundleError(`${dir} holds no manifest.json: not an audit bundle`);
  const manifestStat = lstatSync(manifestPath);
  if (!manifestStat.isFile()) throw new BundleError('manifest.json is not a regular file (links are not followed)');
  if (manifestStat.size > limits.maxManifestBytes)
    throw new BundleError(`manifest.json is ${manifestStat.size} bytes, over the ${limits.maxManifestBytes}-byte cap`);
  const manifestBytes = readFileSync(manifestPath);
  let parsedJson: unknown;
  try {
    parsedJson = JSON.parse(manifestBytes.toString('utf8'));
  } catch (err) {
    throw new BundleError(`manifest.json is not valid JSON: ${(err as Error).message}`);
  }
  const formatSeen = (parsedJson as { format?: unknown } | null)?.format;
  if (formatSeen !== BUNDLE_FORMAT) throw new BundleError(`unknown bundle format ${JSON.stringify(formatSeen ?? null)}; this replayer reads ${BUNDLE_FORMAT}`);
  const checked = manifestSchema.safeParse(parsedJson);
  if (!checked.success)
    throw new BundleError(
      `manifest.json is malformed: ${checked.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    );
  const manifest = checked.data as Manifest;
  const total = manifest.files.reduce((n, f) => n + f.bytes, 0);
  if (total > limits.maxTotalBytes) throw new BundleError(`the manifest lists ${total} bytes, over the ${limits.maxTotalBytes}-byte cap`);

  // Keys: each file keys/<id>.pem the bundle carries, trusted only if its fingerprint was pinned (or trust is explicit).
  const keyPem = (keyId: string): string | null => {
    if (!KEY_ID.test(keyId)) return null;
    const path = join(dir, 'keys', `${keyId}.pem`);
    if (!existsSync(path) || !lstatSync(path).isFile() || lstatSync(path).size > 64 * 1024) return null;
    return readFileSync(path, 'utf8');
  };
  const trustedKeys = new Map<string, string | null>();
  const keyFor = (keyId: string, where: string): string | null => {
    if (trustedKeys.has(keyId)) return trustedKeys.get(keyId)!;
    const pem = keyPem(keyId);
    let ok: string | null = null;
    if (!pem) problems.push(`${where}: signed by key ${keyId}, whose public key the bundle does not carry`);
    else {
      let fingerprint: string | null = null;
      try {
        fingerprint = fingerprintOf(pem);
      } catch {
        problems.push(`keys/${keyId}.pem is not a public key`);
      }
      if (fingerprint !== null && keyIdOfFingerprint(fingerprint) !== keyId)
        problems.push(`keys/${keyId}.pem holds a key whose id is ${keyIdOfFingerprint(fingerprint)}, not ${keyId}`);
      else if (fingerprint !== null && trust !== 'bundle-key' && !trust.fingerprints.includes(fingerprint)) {
        problems.push(`signed by key ${keyId} (fingerprint ${fingerprint}), which is not a trusted key: refusing the bundle`);
      } else if (fingerprint !== null) ok = pem;
    }
    trustedKeys.set(keyId, ok);
    return ok;
  };

  const manifestKey = keyFor(manifest.key_id, 'manifest.json');
  const sigPath = join(dir, 'manifest.sig');
  if (manifestKey) {
    const sig = existsSync(sigPath) && lstatSync(sigPath).isFile() && lstatSync(sigPath).size < 1024 ? readFileSync(sigPath, 'utf8').trim() : null;
    if (!sig || !verifyPayload(manifestKey, manifestBytes.toString('utf8'), sig))
      problems.push('manifest.sig does not verify: the manifest was changed or not signed by the key it names');
  }
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  for (const path of listFiles(dir, problems)) {
    if (path === 'manifest.json' || path === 'manifest.sig') continue;
    const entry = listed.get(path);
    if (!entry) {
      problems.push(`${path}: not listed in the manifest`);
      continue;
    }
    listed.delete(path);
    const size = lstatSync(join(dir, path)).size;
    if (size > limits.maxFileBytes) {
      problems.push(`${path}: ${size} bytes, over the ${limits.maxFileBytes}-byte file cap; not read`);
      continue;
    }
    if (size !== entry.bytes) problems.push(`${path}: ${size} bytes, the manifest says ${entry.bytes}`);
    const actual = await sha256OfFile(join(dir, path));
    if (actual !== entry.sha256) problems.push(`${path}: sha256 ${actual.slice(0, 12)}… differs from the manifest's ${entry.sha256.slice(0, 12)}…`);
  }
  const missing = new Set(listed.keys());
  for (const path of missing) problems.push(`${path}: listed in the manifest but missing (or not a regular file)`);

  // Only files that are listed, present, regular and within the cap are ever read.
  const readable = (path: string) =>
    manifest.files.some((f) => f.path === path) &&
    !missing.has(path) &&
    existsSync(join(dir, path)) &&
    lstatSync(join(dir, path)).isFile() &&
    lstatSync(join(dir, path)).size <= limits.maxFileBytes;
  const readJson = <T>(path: string): T | null => {
    if (!readable(path)) return null;
    try {
      return JSON.parse(readFileSync(join(dir, path), 'utf8')) as T;
    } catch (err) {
      problems.push(`${path}: not valid JSON (${(err as Error).message})`);
      return null;
    }
  };
  const checkSigned = (doc: SignedDoc, where: string) => {
    if (!doc.signature) {
      problems.push(`${where}: carries no signature (published before signatures were stored)`);
      return;
    }
    if (doc.signature.payload !== signedPayload(doc.fixing))
      problems.push(`${where}: the signed payload is not the fixing's canonical JSON (the fixing was edited)`);
    const pem = keyFor(doc.signature.key_id, where);
    if (pem && !verifyPayload(pem, doc.signature.payload, doc.signature.value)) problems.push(`${where}: signature does not verify`);
  };
  const chainHead = readJson<{ head: unknown; signature: FixingSignature }>('chain-head.json');
  if (chainHead) {
    const pem = keyFor(chainHead.signature.key_id, 'chain-head.json');
    if (pem && (!verifyPayload(pem, chainHead.signature.payload, chainHead.signature.value) || canonicalJson(chainHead.head) !== chainHead.signature.payload)) {
      problems.push('chain-head.json: signature does not verify, or the head is not its signed payload');
    }
  }
  const fixingFiles = manifest.files.map((f) => f.path).filter((p) => p.startsWith('fixings/'));
  const revisions: PublishedRevision[] = [];
  for (const path of fixingFiles) {
    const file = readJson<BundleFixingFile>(path);
    if (!file) continue;
    checkSigned(file, path);
    for (const [series, doc] of Object.entries(file.previous)) checkSigned(doc, `${path} (previous value of ${series})`);
    for (const doc of file.history ?? []) {
      checkSigned(doc, `${path} (history ${doc.fixing.date})`);
      if (doc.fixing.evidence_sha256 !== sha256(doc.evidence))
        problems.push(`${path} (history ${doc.fixing.date}): its evidence does not hash to the signed evidence_sha256`);
    }
    // Revisions published with an audit hash: the bundle's audit rows must be the ones the signature binds.
    if (file.fixing.audit_sha256 !== undefined && auditHashOf(file.audit) !== file.fixing.audit_sha256)
      problems.push(`${path}: its audit rows do not hash to the signed audit_sha256 (rows changed, removed or added)`);
    revisions.push({ fixing: file.fixing, audit: async () => file.audit, ref: file });
  }
  // Publication order is the hash chain's order; within a bundle, revision order per series is enough.
  revisions.sort((a, b) => (a.fixing.series < b.fixing.series ? -1 : a.fixing.series > b.fixing.series ? 1 : a.fixing.revision - b.fixing.revision));

  // Snapshot metadata is read now; each body when replay reaches it, one at a time (a day of full-size searches is
  // larger than memory). A body changed after opening is caught all the same: replay checks it against its sha256.
  const snapshots: { meta: RawSnapshot; bodyPath: string }[] = [];
  for (const f of manifest.files.filter((x) => /^snapshots\/\d+\.json$/.test(x.path))) {
    const meta = readJson<Omit<RawSnapshot, 'body' | 'truncated'> & { truncated: number }>(f.path);
    if (!meta) continue;
    const bodyPath = f.path.replace(/\.json$/, '.body');
    snapshots.push({
      meta: toRawSnapshot({ ...meta, truncated: meta.truncated, parser_options: JSON.stringify(meta.parser_options) } as never, Buffer.alloc(0)),
      bodyPath,
    });
  }
  snapshots.sort((a, b) => a.meta.id - b.meta.id);
  const methodologies = new Map<string, unknown>();
  for (const f of manifest.files.filter((x) => /^methodology\/[^/]+\.json$/.test(x.path))) {
    const doc = readJson<unknown>(f.path);
    if (doc !== null) methodologies.set(f.path.slice('methodology/'.length, -'.json'.length), doc);
  }

  const source: ReplaySource = {
    async *snapshots(from, to, through) {
      for (const { meta, bodyPath } of snapshots) {
        if (meta.fetched_at < from || meta.fetched_at >= to || meta.id > through) continue;
        yield readable(bodyPath) ? { ...meta, body: readFileSync(join(dir, bodyPath)) } : { ...meta, unreadable: `${bodyPath} is missing or not readable` };
      }
    },
    async revisions(date, series) {
      return revisions.filter((r) => r.fixing.date === date && (!series?.length || series.includes(r.fixing.series)));
    },
    async previous(_date, run) {
      // Each fixing file carries its own series' previous value; the run's map is their union.
      const out = new Map<string, { date: string; value: number }>();
      for (const r of run) {
        for (const [s, d] of Object.entries((r.ref as BundleFixingFile).previous))
          out.set(s, { date: d.fixing.carried_from ?? d.fixing.date, value: d.fixing.value! });
      }
      return out;
    },
    async history(_date, run) {
      const out = new Map<string, HistoryPoint[]>();
      for (const r of run) {
        out.set(
          r.fixing.series,
          ((r.ref as BundleFixingFile).history ?? []).map((h) => historyPoint(h.fixing, h.evidence)),
        );
      }
      return out;
    },
    methodology(version) {
      const doc = methodologies.get(version);
      if (!doc) throw new BundleError(`methodology/${version}.json is missing from the bundle`);
      return methodologySchema.parse(doc);
    },
  };
  const keysUsed = [...trustedKeys].filter(([, pem]) => pem !== null).map(([key_id, pem]) => ({ key_id, fingerprint: fingerprintOf(pem!) }));
  return { manifest, problems, source, keys: keysUsed, close: () => {} };
}

/** Extracts a `.tar.gz` bundle (regular files and folders only, sizes capped, paths confined) and opens the folder. */
async function openTarball(file: string, trust: BundleTrust, limits: BundleLimits): Promise<OpenedBundle> {
  const dir = mkdtempSync(join(tmpdir(), 'gpuidx-bundle-'));
  const refused: string[] = [];
  let total = 0;
  try {
    await tar.extract({
      file,
      cwd: dir,
      strict: true,
      preservePaths: false,
      filter: (path, entry) => {
        const e = entry as tar.ReadEntry;
        const size = e.size ?? 0;
        const ok =
          (e.type === 'File' || e.type === 'Directory') &&
          SAFE_PATH.test(path.replace(/\/$/, '')) &&
          size <= limits.maxFileBytes &&
          total + size <= limits.maxTotalBytes;
        if (ok) total += size;
        else
          refused.push(
            `${path}: ${e.type !== 'File' && e.type !== 'Directory' ? `a ${e.type} entry` : size > limits.maxFileBytes ? 'over the file cap' : 'an unsafe path'}; not extracted`,
          );
        return ok;
      },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new BundleError(`${file} is not a readable .tar.gz bundle: ${(err as Error).message}`);
  }
  try {
    const opened = await openBundle(dir, trust, limits);
    opened.problems.unshift(...refused);
    // The extracted folder stays until the caller closes the bundle: replay reads the bodies from it.
    return { ...opened, close: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Names the parameters in which a bundle's methodology differs from the published version of the same number. */
export function methodologyChanges(bundled: Methodology): string[] {
  let published: Methodology;
  try {
    published = loadMethodology(bundled.version);
  } catch {
    return [];
  }
  if (parameterHash(published) === parameterHash(bundled)) return [];
  const out: string[] = [];
  const walkDiff = (a: unknown, b: unknown, path: string) => {
    if (canonicalJson(a) === canonicalJson(b)) return;
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
      for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
        walkDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      return;
    }
    out.push(`${path}: published ${canonicalJson(a ?? null)}, bundle ${canonicalJson(b ?? null)}`);
  };
  walkDiff(published, bundled, '');
  return out;
}
