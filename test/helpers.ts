// Shared test scaffolding: real SQLite files in temp dirs, fixture bytes, collector dependencies with a fake clock.
import { spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VenueBaseConfig } from '../src/collectors/adapter.js';
import { httpPolicySchema, globalFetch, type HttpPolicy } from '../src/collectors/http.js';
import { createRedactor } from '../src/collectors/redact.js';
import type { CollectorDeps } from '../src/collectors/runner.js';
import { parseConfig } from '../src/config/index.js';
import type { VenueName } from '../src/collectors/venues/index.js';
import { memoryLogger } from '../src/log/index.js';
import { openDatabase, snapshotBody, type Db } from '../src/storage/index.js';
import { signerFromPrivateKey, type Signer } from '../src/signing/index.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

export function fixtureBytes(path: string): Buffer {
  return readFileSync(join(FIXTURES, path));
}

export interface TempDb {
  db: Db;
  path: string;
  dir: string;
  cleanup(): Promise<void>;
}

export async function tempDb(): Promise<TempDb> {
  const dir = mkdtempSync(join(tmpdir(), 'gpuidx-test-'));
  const path = join(dir, 'gpuidx.db');
  const db = await openDatabase(path);
  return {
    db,
    path,
    dir,
    async cleanup() {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** 2026-11-20T00:00:00Z; the test clock advances one second per reading. */
export const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);

export type TestDeps = CollectorDeps & { lines: string[]; sleeps: number[] };

export function testDeps(db: Db, overrides: Partial<CollectorDeps> = {}): TestDeps {
  let now = T0;
  const env = overrides.env ?? {};
  const redactor = createRedactor(Object.values(env));
  const log = memoryLogger(redactor.text);
  const sleeps: number[] = [];
  return {
    db,
    fetch: globalFetch,
    clock: () => (now += 1000),
    // Backoff is recorded, not waited for: tests assert the delays, not wall time.
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    log,
    redactor,
    env,
    ...overrides,
    lines: log.lines,
    sleeps,
  };
}

export const testPolicy: HttpPolicy = httpPolicySchema.parse({
  max_attempts: 3,
  backoff_base_ms: 1000,
  backoff_max_ms: 8000,
  total_timeout_ms: 2000,
  max_body_bytes: 1024 * 1024,
});

export function venueConfig(name: VenueName, overrides: Record<string, unknown> = {}): VenueBaseConfig {
  return parseConfig({ venues: { [name]: overrides } }).venues[name];
}

export async function observationsOf(db: Db) {
  return db
    .selectFrom('observations')
    .select([
      'snapshot_id',
      'seq',
      'listing_id',
      'host_id',
      'gpu_raw',
      'gpu_count',
      'price_usd_per_hour',
      'contract',
      'available',
      'perf_system',
      'perf_score_per_gpu',
      'region',
      'quantity_reported',
    ])
    .orderBy('snapshot_id')
    .orderBy('seq')
    .execute();
}

/** Every snapshot's metadata with its original bytes, read back through the storage layer's body reader. */
export async function snapshotsOf(db: Db) {
  const rows = await db.selectFrom('snapshots').selectAll().orderBy('id').execute();
  return Promise.all(rows.map(async (s) => ({ ...s, body: (await snapshotBody(db, s.id))! })));
}

export async function issuesOf(db: Db) {
  return db.selectFrom('snapshot_issues').select(['snapshot_id', 'row_index', 'listing_id', 'code', 'detail']).orderBy('id').execute();
}

/** A fixed Ed25519 key (from a 32-byte seed) so that signatures in tests are the same on every run. */
export function testSigner(seed = 1): Signer {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, seed)]);
  return signerFromPrivateKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
}

/** The real `gpuidx` entry point. */
export const GPUIDX_BIN = join(import.meta.dirname, '..', 'bin', 'gpuidx.mjs');

// Node would pass an `undefined` value on as the string "undefined", so remove the variables instead.
export const CLI_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'GPUIDX_DB' && k !== 'GPUIDX_CONFIG'));

/** Runs the real binary in a child process without blocking this one (which may serve a loopback venue). */
export function runCli(args: string[], env: Record<string, string | undefined> = CLI_ENV): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [GPUIDX_BIN, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
