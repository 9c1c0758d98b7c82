// Crash safety: a writer killed with SIGKILL at random points of `import` and `fix`, again and again on one database
// (a SQLite file, and a PostgreSQL database), then restarted, leaves a database that verifies and publishes exactly
// what an uninterrupted run publishes.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyDatabase } from '../../src/audit/verify.js';
import { importFile } from '../../src/collectors/import.js';
import { recoverSnapshots } from '../../src/collectors/recover.js';
import { fixDate } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import { simulatedLines } from '../../src/simulator/generic.js';
import { unit } from '../../src/simulator/market.js';
import { openDatabase, type Db } from '../../src/storage/index.js';
import { FIXTURES, tempPgDatabase, testSigner } from '../helpers.js';

const CHILD = join(import.meta.dirname, 'crash-child.mjs');
const DATES = ['2026-11-10', '2026-11-11'];
const FROM = Date.UTC(2026, 10, 10);
const akashBody = readFileSync(join(FIXTURES, 'venues/akash/gpu-prices.json'));

/** Runs the child writer; once it is ready, kills it with SIGKILL after `killAfterMs` (or lets it finish). */
function runChild(args: string[], killAfterMs: number | null): Promise<{ killed: boolean; finished: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAfterMs !== null && !timer && out.includes('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', finished: out.includes('done\n') });
    });
  });
}

/**
 * Rounds of the child writer, each killed at an offset drawn from the simulator's seeded hash (the same rounds on
 * every run), until `wanted` kills landed. A round that finished before its kill halves the range, so the count of
 * kills is reached on a fast machine and a slow one alike (no wall-clock bound).
 */
function killer(seed: number, stream: string) {
  let draw = 0;
  return async (args: string[], wanted: number, initialMaxMs: number): Promise<number> => {
    let maxMs = initialMaxMs;
    let kills = 0;
    for (let round = 0; round < wanted * 4 && kills < wanted; round++) {
      const r = await runChild(args, Math.floor(unit(seed, stream, draw++) * maxMs));
      if (r.killed) kills += 1;
      else maxMs = Math.max(5, maxMs / 2);
    }
    return kills;
  };
}

/** Every published record (the canonical JSON that is signed), and per date the snapshot watermarks its series were read at. */
async function records(db: Db): Promise<{ records: string[]; watermarks: Record<string, number> }> {
  const rows = await db
    .selectFrom('fixings')
    .select(['series', 'date', 'revision', 'record', 'inputs_through_snapshot'])
    .orderBy('date')
    .orderBy('series')
    .execute();
  const byDate = new Map<string, Set<number | null>>();
  for (const r of rows) byDate.set(r.date, (byDate.get(r.date) ?? new Set()).add(r.inputs_through_snapshot));
  const watermarks = Object.fromEntries([...byDate].map(([date, marks]) => [date, marks.size]));
  return { records: rows.map((r) => `${r.date} ${r.series} r${r.revision} ${r.record}`), watermarks };
}

/** Two simulated days as one JSON Lines file in a new scratch folder. */
function twoDays(prefix: string): { dir: string; file: string; lines: string[] } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = join(dir, 'two-days.jsonl');
  const lines = [...simulatedLines({ seed: 11, scale: 0.5, from: FROM, to: FROM + 2 * 86_400_000, cadenceMs: 1_800_000 })].map((l) => l.text);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { dir, file, lines };
}

/** The reference: the file imported and both dates published without interruption, into a SQLite file. */
async function uninterrupted(dir: string, file: string): Promise<Awaited<ReturnType<typeof records>>> {
  const reference = await openDatabase(join(dir, 'reference.db'));
  await importFile({ db: reference, clock: Date.now, log: memoryLogger() }, file);
  for (const date of DATES) await fixDate({ db: reference, clock: Date.now, log: memoryLogger(), signer: testSigner() }, { date });
  const expected = await records(reference);
  await reference.destroy();
  return expected;
}

/**
 * The restart after the crashes: recovery leaves nothing pending, the same work run to completion stores each line
 * once (`fileSnapshotsOnly`: counting the imported snapshots apart from collected ones), and the database then
 * publishes exactly the reference's records and verifies clean.
 */
async function restartAndFinish(
  target: string,
  file: string,
  lines: readonly string[],
  expected: Awaited<ReturnType<typeof records>>,
  fileSnapshotsOnly: boolean,
) {
  const db = await openDatabase(target);
  try {
    await recoverSnapshots(db);
    expect(await db.selectFrom('snapshots').select('id').where('parse_outcome', '=', 'pending').execute()).toEqual([]);
    const imported = await importFile({ db, clock: Date.now, log: memoryLogger() }, file);
    expect(imported.snapshots + imported.duplicates).toBe(lines.length);
    let count = db.selectFrom('snapshots').select((eb) => eb.fn.countAll<number>().as('n'));
    if (fileSnapshotsOnly) count = count.where('source', '=', 'file');
    expect(Number((await count.executeTakeFirstOrThrow()).n)).toBe(lines.length);
    for (const date of DATES) await fixDate({ db, clock: Date.now, log: memoryLogger(), signer: testSigner() }, { date });
    expect(await records(db)).toEqual(expected);
    expect((await verifyDatabase(db)).problems).toEqual([]);
  } finally {
    await db.destroy();
  }
}

describe('kill -9 during collect, import and fix', () => {
  it('never leaves a half-stored snapshot or a half-published date: after 26 random kills in collect, import and fix the fixings equal an uninterrupted run', async () => {
    const { dir, file, lines } = twoDays('gpuidx-crash-');
    const expected = await uninterrupted(dir, file);
    expect(expected.records.length).toBeGreaterThan(40);
    // Every series of a date read at one watermark.
    expect(expected.watermarks).toEqual({ '2026-11-10': 1, '2026-11-11': 1 });

    const crashed = join(dir, 'crashed.db');
    const killRounds = killer(20261201, 'kill');
    // Each round restarts the same work from the start, as an operator would after a crash. Collection first:
    // its snapshots carry today's time, outside the two fixed dates, so the comparison below is unaffected.
    const venue = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(akashBody));
    await new Promise<void>((r) => venue.listen(0, '127.0.0.1', r));
    try {
      expect(await killRounds(['collect', crashed, `http://127.0.0.1:${(venue.address() as AddressInfo).port}`], 4, 300)).toBe(4);
    } finally {
      await new Promise<void>((r) => venue.close(() => r()));
    }
    expect(await killRounds(['import', crashed, file], 14, 1500)).toBe(14);
    // The import then finishes (a slow machine may not have got through the file between kills): a publication
    // that completes between the kills below must see every line, as the reference did.
    expect(await runChild(['import', crashed, file], null)).toEqual({ killed: false, finished: true });
    expect(await killRounds(['fix', crashed, ...DATES], 8, 400)).toBe(8);

    // Restart: recovery, then the same work to completion.
    await restartAndFinish(crashed, file, lines, expected, true);
  }, 600_000);

  it('on PostgreSQL too: an import and a publication killed -9 at random points, restarted, publish what the uninterrupted SQLite run published', async () => {
    const { dir, file, lines } = twoDays('gpuidx-crash-pg-');
    // The reference is the SQLite run: the engines must agree record for record.
    const expected = await uninterrupted(dir, file);

    const database = await tempPgDatabase();
    try {
      const killRounds = killer(20261202, 'kill-pg');
      expect(await killRounds(['import', database.url, file], 5, 1500)).toBe(5);
      expect(await runChild(['import', database.url, file], null)).toEqual({ killed: false, finished: true });
      expect(await killRounds(['fix', database.url, ...DATES], 3, 400)).toBe(3);
      await restartAndFinish(database.url, file, lines, expected, false);
    } finally {
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
