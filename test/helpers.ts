// Shared test scaffolding: real SQLite files in temp dirs and real PostgreSQL databases made per test, fixture
// bytes, collector dependencies with a fake clock.
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
import pg from 'pg';
import { allObservations, openDatabase, snapshotBody, type Db, type Observation } from '../src/storage/index.js';
import type { DialectName } from '../src/storage/dialect.js';
import { signerFromPrivateKey, type Signer } from '../src/signing/index.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

export function fixtureBytes(path: string): Buffer {
  return readFileSync(join(FIXTURES, path));
}

export interface TempDb {
  db: Db;
  /** What `--db` takes for it: the SQLite file, or the PostgreSQL URL. */
  path: string;
  /** A scratch directory (keys, exports) beside it. */
  dir: string;
  dialect: DialectName;
  cleanup(): Promise<void>;
}

/** The dialects every storage-level suite runs against: `describe.each(DIALECTS)`. */
export const DIALECTS: readonly DialectName[] = ['sqlite', 'postgres'];

/** The machine's PostgreSQL server (trust auth); each test gets a database of its own on it. */
export const PG_SERVER = process.env.GPUIDX_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

let pgDatabases = 0;

/** A new, empty PostgreSQL database on the test server, dropped (with its connections) by the returned function. */
export async function tempPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gpuidx_test_${process.pid}_${++pgDatabases}_${Date.now().toString(36)}`;
  const admin = new pg.Client(PG_SERVER);
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_SERVER);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client(PG_SERVER);
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export async function tempDb(dialect: DialectName = 'sqlite'): Promise<TempDb> {
  const dir = mkdtempSync(join(tmpdir(), 'gpuidx-test-'));
  if (dialect === 'postgres') {
    const database = await tempPgDatabase();
    const db = await openDatabase(database.url);
    return {
      db,
      path: database.url,
      dir,
      dialect,
      async cleanup() {
        await db.destroy();
        await database.drop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const path = join(dir, 'gpuidx.db');
  const db = await openDatabase(path);
  return {
    db,
    path,
    dir,
    dialect,
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

/** The fields of an observation the venue tests compare (not its id, machine or memory). */
const COMPARED = [
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
] as const;

/** Every stored observation, snapshot by snapshot in position order, with the fields the venue tests compare. */
export async function observationsOf(db: Db): Promise<Pick<Observation, (typeof COMPARED)[number]>[]> {
  return (await allObservations(db)).map((o) => Object.fromEntries(COMPARED.map((f) => [f, o[f]])) as Pick<Observation, (typeof COMPARED)[number]>);
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

/**
 * Forges the stored data behind the append-only triggers' back, as someone with write access to the file or the
 * server would: drops the named triggers, then runs `statement` (`?` placeholders) directly on the database.
 */
export async function forge(t: TempDb, triggers: readonly { name: string; table: string }[], statement: string, params: unknown[] = []): Promise<void> {
  if (t.dialect === 'postgres') {
    const c = new pg.Client(t.path);
    await c.connect();
    try {
      for (const tr of triggers) await c.query(`DROP TRIGGER ${tr.name} ON ${tr.table}`);
      let n = 0;
      await c.query(
        statement.replace(/\?/g, () => `$${++n}`),
        params,
      );
    } finally {
      await c.end();
    }
    return;
  }
  const { default: SqliteDatabase } = await import('better-sqlite3');
  const raw = new SqliteDatabase(t.path);
  try {
    for (const tr of triggers) raw.exec(`DROP TRIGGER ${tr.name}`);
    raw.prepare(statement).run(...params);
  } finally {
    raw.close();
  }
}

/**
 * The small market of fixtures/market, published as the API tests read it: three days imported and fixed at
 * `now` (41 series each), then 2026-11-19 restated one minute later from a partner's late file (revision 2 of
 * GPUIDX-H100-SXM, GPUIDX-H100-SXM-SPOT and GPUIDX-COMPUTE).
 */
export async function publishMarketFixture(db: Db, now: number): Promise<void> {
  const { importFile } = await import('../src/collectors/import.js');
  const { fixDate } = await import('../src/fixer/index.js');
  const deps = { db, clock: () => now, log: memoryLogger(), signer: testSigner() };
  await importFile(deps, join(FIXTURES, 'market', 'three-days.jsonl'));
  for (const date of ['2026-11-18', '2026-11-19', '2026-11-20']) await fixDate(deps, { date });
  await importFile(deps, join(FIXTURES, 'market', 'late-2026-11-19.jsonl'));
  await fixDate({ ...deps, clock: () => now + 60_000 }, { date: '2026-11-19', restate: { reason: 'late partner-d file' } });
}
