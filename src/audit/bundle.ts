// Audit bundles: a folder holding everything needed to replay one date's published fixings with no database:
// raw snapshot bytes and metadata, the methodology parameters, the signed fixings with their audit rows, the
// values they could carry forward (signed), the public key, and a signed manifest of every file's sha256.
// The format is documented in methodology/AUDIT.md so that an auditor can write their own replayer.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { publishedFixing, signedPayload, type PublishedFixing } from '../fixer/published.js';
import { canonicalJson } from '../methodology/canonical.js';
import { inputWindow } from '../methodology/fixing.js';
import { loadMethodology, methodologySchema, parameterHash, type Methodology } from '../methodology/params.js';
import { signPayload, verifyPayload, type FixingSignature, type Signer } from '../signing/index.js';
import { fixingAt, keyedAuditRows, previousValues, rawSnapshotsInWindow, revisionsOfDate, type Db, type Fixing } from '../storage/index.js';
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
  signature: FixingSignature;
}

/** One published revision as stored in a bundle. */
export interface BundleFixingFile extends SignedDoc {
  /** The published fixing whose value this revision could carry forward (latest earlier value), or null. */
  previous: Record<string, SignedDoc>;
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

/** Writes the audit bundle of a date. The folder must not exist or be empty. */
export async function exportBundle(db: Db, signer: Signer, opts: ExportOptions): Promise<Manifest> {
  if (existsSync(opts.out) && readdirSync(opts.out).length > 0) throw new BundleError(`${opts.out} is not empty; choose a new folder`);
  const revisions = await revisionsOfDate(db, opts.date, opts.series);
  if (revisions.length === 0) throw new BundleError(`no published fixing for ${opts.date}${opts.series ? ` (${opts.series.join(', ')})` : ''}`);
  const files = new Map<string, Buffer>();
  const put = (path: string, data: Buffer | string) => files.set(path, Buffer.isBuffer(data) ? data : Buffer.from(data));
  const sign = (row: Fixing): SignedDoc => {
    const fixing = publishedFixing(row);
    return { fixing, signature: signPayload(signer, signedPayload(fixing)) };
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
      if (source) previous[series] = sign(source);
    }
    const audit = await keyedAuditRows(db, row.id);
    const file: BundleFixingFile = { ...sign(row), previous, audit };
    put(`fixings/${row.series}/r${row.revision}.json`, json(file));
  }
  for (const [v, m] of methodologies) put(`methodology/${v}.json`, json(m));
  for (const s of await rawSnapshotsInWindow(db, from, to, through)) {
    const { body, ...meta } = s;
    put(`snapshots/${s.id}.body`, body);
    put(`snapshots/${s.id}.json`, json({ ...meta, parser_options: JSON.parse(meta.parser_options) as unknown }));
  }
  put(`keys/${signer.keyId}.pem`, signer.publicKeyPem);

  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    created_at: new Date(opts.clock()).toISOString(),
    software_version: opts.softwareVersion,
    date: opts.date,
    series: [...new Set(revisions.map((r) => r.series))].sort(),
    key_id: signer.keyId,
    files: [...files].map(([path, data]) => ({ path, sha256: sha256(data), bytes: data.length })).sort((a, b) => (a.path < b.path ? -1 : 1)),
  };
  for (const [path, data] of files) {
    mkdirSync(dirname(join(opts.out, path)), { recursive: true });
    writeFileSync(join(opts.out, path), data);
  }
  const manifestBytes = json(manifest);
  writeFileSync(join(opts.out, 'manifest.json'), manifestBytes);
  writeFileSync(join(opts.out, 'manifest.sig'), `${signer.sign(manifestBytes)}\n`);
  return manifest;
}

/** Every file under `root`, as bundle paths ("snapshots/1.body"), sorted. */
function listFiles(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listFiles(root, full));
    else out.push(relative(root, full).split(sep).join('/'));
  }
  return out.sort();
}

export interface OpenedBundle {
  manifest: Manifest;
  /** Problems found checking the manifest, its signature, file hashes and fixing signatures; empty when sound. */
  problems: string[];
  source: ReplaySource;
}

/** Reads a bundle and checks it: manifest signature, every file's sha256, every fixing's signature. */
export function openBundle(dir: string): OpenedBundle {
  const problems: string[] = [];
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new BundleError(`${dir} holds no manifest.json: not an audit bundle`);
  const manifestBytes = readFileSync(manifestPath);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
  if (manifest.format !== BUNDLE_FORMAT) throw new BundleError(`unknown bundle format ${String(manifest.format)}; this replayer reads ${BUNDLE_FORMAT}`);
  const keyPath = join(dir, 'keys', `${manifest.key_id}.pem`);
  const publicKey = existsSync(keyPath) ? readFileSync(keyPath, 'utf8') : null;
  if (!publicKey) problems.push(`keys/${manifest.key_id}.pem is missing: signatures cannot be checked`);
  const sigPath = join(dir, 'manifest.sig');
  if (publicKey && (!existsSync(sigPath) || !verifyPayload(publicKey, manifestBytes.toString('utf8'), readFileSync(sigPath, 'utf8').trim()))) {
    problems.push('manifest.sig does not verify: the manifest was changed or not signed by the key it names');
  }
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  for (const path of listFiles(dir)) {
    if (path === 'manifest.json' || path === 'manifest.sig') continue;
    const entry = listed.get(path);
    if (!entry) {
      problems.push(`${path}: not listed in the manifest`);
      continue;
    }
    listed.delete(path);
    const actual = sha256(readFileSync(join(dir, path)));
    if (actual !== entry.sha256) problems.push(`${path}: sha256 ${actual.slice(0, 12)}… differs from the manifest's ${entry.sha256.slice(0, 12)}…`);
  }
  for (const path of listed.keys()) problems.push(`${path}: listed in the manifest but missing`);

  const readJson = <T>(path: string): T | null => (existsSync(join(dir, path)) ? (JSON.parse(readFileSync(join(dir, path), 'utf8')) as T) : null);
  const checkSigned = (doc: SignedDoc, where: string) => {
    if (doc.signature.payload !== signedPayload(doc.fixing)) problems.push(`${where}: the signed payload is not the fixing's canonical JSON (the fixing was edited)`);
    if (publicKey && !verifyPayload(publicKey, doc.signature.payload, doc.signature.value)) problems.push(`${where}: signature does not verify`);
  };
  const fixingFiles = [...manifest.files.map((f) => f.path)].filter((p) => p.startsWith('fixings/'));
  const revisions: PublishedRevision[] = [];
  for (const path of fixingFiles) {
    const file = readJson<BundleFixingFile>(path);
    if (!file) continue;
    checkSigned(file, path);
    for (const [series, doc] of Object.entries(file.previous)) checkSigned(doc, `${path} (previous value of ${series})`);
    revisions.push({ fixing: file.fixing, audit: async () => file.audit, ref: file });
  }
  // Publication order is the hash chain's order; within a bundle, revision order per series is enough.
  revisions.sort((a, b) => (a.fixing.series < b.fixing.series ? -1 : a.fixing.series > b.fixing.series ? 1 : a.fixing.revision - b.fixing.revision));

  const snapshots: RawSnapshot[] = manifest.files
    .filter((f) => /^snapshots\/\d+\.json$/.test(f.path))
    .map((f) => {
      const meta = readJson<Omit<RawSnapshot, 'body' | 'truncated'> & { truncated: number }>(f.path)!;
      const bodyPath = f.path.replace(/\.json$/, '.body');
      const body = existsSync(join(dir, bodyPath)) ? readFileSync(join(dir, bodyPath)) : Buffer.alloc(0);
      return toRawSnapshot({ ...meta, truncated: meta.truncated, parser_options: JSON.stringify(meta.parser_options), body } as never);
    })
    .sort((a, b) => a.id - b.id);

  const source: ReplaySource = {
    async snapshots(from, to, through) {
      return snapshots.filter((s) => s.fetched_at >= from && s.fetched_at < to && s.id <= through);
    },
    async revisions(date, series) {
      return revisions.filter((r) => r.fixing.date === date && (!series?.length || series.includes(r.fixing.series)));
    },
    async previous(_date, run) {
      // Each fixing file carries its own series' previous value; the run's map is their union.
      const out = new Map<string, { date: string; value: number }>();
      for (const r of run) {
        for (const [s, d] of Object.entries((r.ref as BundleFixingFile).previous)) out.set(s, { date: d.fixing.carried_from ?? d.fixing.date, value: d.fixing.value! });
      }
      return out;
    },
    methodology(version) {
      const doc = readJson<unknown>(`methodology/${version}.json`);
      if (!doc) throw new BundleError(`methodology/${version}.json is missing from the bundle`);
      return methodologySchema.parse(doc);
    },
  };
  return { manifest, problems, source };
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
      for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) walkDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      return;
    }
    out.push(`${path}: published ${canonicalJson(a ?? null)}, bundle ${canonicalJson(b ?? null)}`);
  };
  walkDiff(published, bundled, '');
  return out;
}

