// One elected publisher per database: the PostgreSQL publisher lease, a standby that takes over from a publisher
// killed -9 inside its publication transaction, and a date that ends published once, whole.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyDatabase } from '../../src/audit/verify.js';
import { importFile } from '../../src/collectors/import.js';
import { newPublicationState, publicationTick, type PublisherDeps } from '../../src/fixer/schedule.js';
import { memoryLogger } from '../../src/log/index.js';
import { publisherLease, type PublisherLease } from '../../src/storage/index.js';
import { FIXTURES, tempDb, testSigner, type TempDb } from '../helpers.js';

const DATE = '2026-11-18';
const NOW = Date.UTC(2026, 10, 21, 0, 30);
const CHILD = join(import.meta.dirname, 'publisher-child.mjs');

let t: TempDb;
const leases: PublisherLease[] = [];
beforeEach(async () => {
  t = await tempDb('postgres');
});
afterEach(async () => {
  await Promise.all(leases.splice(0).map((l) => l.release()));
  await t.cleanup();
});

async function lease(): Promise<PublisherLease> {
  const l = await publisherLease(t.path);
  leases.push(l);
  return l;
}

/** Polls until `l` is elected: the server frees a dead session's lock when it notices the connection closed. */
async function electedEventually(l: PublisherLease): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await l.acquire()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the standby was never elected');
}

function deps(l: PublisherLease, publisher: string): PublisherDeps & { lines: string[] } {
  const log = memoryLogger();
  return { db: t.db, clock: () => NOW, log, signer: testSigner(), lease: l, publisher, lines: log.lines };
}

describe('the publisher lease on PostgreSQL', () => {
  it('elects one holder; a clean release or a cut connection hands it to the standby', async () => {
    const [a, b] = [await lease(), await lease()];
    expect(await a.acquire()).toBe(true);
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    await a.release();
    expect(await b.acquire()).toBe(true);
    expect(await a.acquire()).toBe(false);
    // The server ends the holder's session (a network cut, an operator's pg_terminate_backend): the lock goes with it.
    const admin = new pg.Client(t.path);
    await admin.connect();
    await admin.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'gpuidx publisher lease' and datname = current_database() and pid <> pg_backend_pid() and exists (select 1 from pg_locks l where l.pid = pg_stat_activity.pid and l.locktype = 'advisory')`,
    );
    await admin.end();
    await electedEventually(a);
    // b asks the server, not its own memory: it knows it lost the lease.
    expect(await b.acquire()).toBe(false);
  });

  it('a standby takes over a date whose publisher was killed -9 inside the publication transaction: published once, whole', async () => {
    await importFile({ db: t.db, clock: () => NOW, log: memoryLogger() }, join(FIXTURES, 'market', 'three-days.jsonl'));
    const child = spawn(process.execPath, [CHILD, t.path, DATE, String(NOW)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const lines = createInterface({ input: child.stdout! });
    const said: string[] = [];
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (l) => {
        said.push(l);
        if (l === 'inside the publication transaction') resolve();
      });
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before stalling: ${said.join(' / ')}`)));
    });
    const standby = await lease();
    expect(await standby.acquire()).toBe(false);
    // A tick of the standby while the publisher lives does nothing.
    const state = newPublicationState();
    state.due.add(DATE);
    const d = deps(standby, 'standby');
    await publicationTick(d, state);
    expect(await t.db.selectFrom('fixings').select('id').execute()).toEqual([]);

    child.kill('SIGKILL');
    await exited;
    await electedEventually(standby);
    // The child's run is on record as begun and never finished; its one inserted revision rolled back with it.
    expect(await t.db.selectFrom('fixings').select('id').execute()).toEqual([]);
    await publicationTick(d, newPublicationState());

    const runs = await t.db
      .selectFrom('publication_runs')
      .select(['date', 'publisher', 'outcome', 'published', 'unchanged', 'refused'])
      .orderBy('id')
      .execute();
    // The fixture's 2026-11-18 publishes all 41 series of the catalogue (as test/audit/replay.test.ts: 41 a day).
    expect(runs).toEqual([
      { date: DATE, publisher: 'child', outcome: 'running', published: 0, unchanged: 0, refused: 0 },
      { date: DATE, publisher: 'standby', outcome: 'ok', published: 41, unchanged: 0, refused: 0 },
    ]);
    expect(d.lines.some((l) => l.includes(`fixings ${DATE}: taking over the run child left unfinished`))).toBe(true);
    const revisions = await t.db.selectFrom('fixings').select(['date', 'revision']).execute();
    expect(revisions).toHaveLength(41);
    expect(new Set(revisions.map((r) => `${r.date} ${r.revision}`))).toEqual(new Set([`${DATE} 1`]));
    expect((await verifyDatabase(t.db)).problems).toEqual([]);

    // Later ticks find the date done: no second run, nothing republished.
    await publicationTick(d, newPublicationState());
    expect(await t.db.selectFrom('publication_runs').select('id').execute()).toHaveLength(2);
  });
});

describe('the publisher lease on SQLite', () => {
  it('elects every publisher: one machine, where the write lock makes a second publisher of a date find it published', async () => {
    const l = await publisherLease('/nonexistent/gpuidx.db');
    expect([await l.acquire(), await l.acquire()]).toEqual([true, true]);
    await l.release();
  });
});
