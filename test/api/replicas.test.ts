// Stateless API replicas: several `gpuidx serve` processes (each its own connection pool) over one PostgreSQL
// database answer byte for byte alike, and a publication made by another process reaches every one of them. One
// replica connects as a role that may only read (as on a streaming replica): serving needs no write at all.
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { importFile } from '../../src/collectors/import.js';
import { fixDate } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import { openDatabase, type Db } from '../../src/storage/index.js';
import { FIXTURES, PG_SERVER, tempDb, testSigner, type TempDb } from '../helpers.js';

const NOW = Date.UTC(2026, 10, 21, 0, 40);
const READER = `gpuidx_reader_${process.pid}`;
let t: TempDb;

async function asAdmin(statements: string[]): Promise<void> {
  const c = new pg.Client(t.path);
  await c.connect();
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}
const replicas: { db: Db; server: ServerType; url: string }[] = [];

beforeAll(async () => {
  t = await tempDb('postgres');
  const deps = { db: t.db, clock: () => NOW, log: memoryLogger(), signer: testSigner() };
  await importFile(deps, join(FIXTURES, 'market', 'three-days.jsonl'));
  for (const date of ['2026-11-18', '2026-11-19']) await fixDate(deps, { date });
  await asAdmin([
    `DROP ROLE IF EXISTS ${READER}`,
    `CREATE ROLE ${READER} LOGIN`,
    `ALTER ROLE ${READER} SET default_transaction_read_only = on`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${READER}`,
  ]);
  const readerUrl = new URL(t.path);
  readerUrl.username = READER;
  for (let i = 0; i < 3; i++) {
    const db = await openDatabase(i === 2 ? readerUrl.toString() : t.path, { mustExist: true });
    // TTL 0: each request reads the database, so the test needs no waiting for a cache to expire.
    const app = createApp({
      db,
      clock: () => NOW,
      log: memoryLogger(),
      latestTtlMs: 0,
      health: { max_fixing_age_hours: 72, max_collection_age_minutes: 60 * 24 * 3 },
    });
    const server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    replicas.push({ db, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  }
});

afterAll(async () => {
  for (const r of replicas) {
    await new Promise<void>((resolve) => r.server.close(() => resolve()));
    await r.db.destroy();
  }
  await asAdmin([`DROP OWNED BY ${READER}`]);
  await t.cleanup();
  const admin = new pg.Client(PG_SERVER);
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${READER}`);
  await admin.end();
});

async function answers(path: string): Promise<{ status: number; etag: string | null; body: string }[]> {
  return Promise.all(
    replicas.map(async (r) => {
      const res = await fetch(`${r.url}${path}`);
      return { status: res.status, etag: res.headers.get('etag'), body: await res.text() };
    }),
  );
}

describe('API replicas over one PostgreSQL database', () => {
  it('answer identically: fixings with their stored signatures, history, CSV, audit, keys, chain head, health', async () => {
    for (const path of [
      '/v1/series',
      '/v1/series/GPUIDX-H100-SXM/fixings/latest',
      '/v1/series/GPUIDX-H100-SXM/fixings/2026-11-18',
      '/v1/series/GPUIDX-H100-SXM/fixings?from=2026-11-01&to=2026-11-30',
      '/v1/series/GPUIDX-H100-SXM/fixings?from=2026-11-01&to=2026-11-30&format=csv',
      '/v1/series/GPUIDX-H100-SXM/fixings/2026-11-18/audit',
      '/v1/keys',
      '/v1/chain/head',
      '/v1/health',
    ]) {
      const [a, ...rest] = await answers(path);
      expect(a!.status, path).toBe(200);
      for (const other of rest) expect(other, path).toEqual(a);
    }
  });

  it('all serve a revision published afterwards by another process', async () => {
    const before = await answers('/v1/series/GPUIDX-H100-SXM/fixings/latest');
    expect(before.map((a) => (JSON.parse(a.body) as { fixing: { date: string } }).fixing.date)).toEqual(['2026-11-19', '2026-11-19', '2026-11-19']);
    const publisher = await openDatabase(t.path);
    try {
      await fixDate({ db: publisher, clock: () => NOW, log: memoryLogger(), signer: testSigner() }, { date: '2026-11-20' });
    } finally {
      await publisher.destroy();
    }
    const after = await answers('/v1/series/GPUIDX-H100-SXM/fixings/latest');
    expect(after.map((a) => (JSON.parse(a.body) as { fixing: { date: string } }).fixing.date)).toEqual(['2026-11-20', '2026-11-20', '2026-11-20']);
    expect(new Set(after.map((a) => a.body)).size).toBe(1);
  });
});
