// bench/history: does `fix` of one day cost the same whatever the length of the history before it? One database
// is filled day by day with full-size Vast-shaped searches (a few per day); copies are taken when it holds 3, 10
// and 30 days, and on each copy the newest day is fixed (its window: that day and the two before, the steady
// state). Time and bytes read by the fix process (/proc/self/io) are reported beside the 3-day figure of the same
// run; the target is at most 1.2x from 3 to 30 days.
// Usage: npm run bench:history [-- --offers 15000 --per-day 2 --runs 3]
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fixDate } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { runPhase, type Measure } from '../shared/phases.js';
import { storeResponse } from '../shared/ingest.js';
import { benchSigner } from '../shared/signer.js';
import { vastSearchBody } from '../shared/vast-body.js';

const { values: args } = parseArgs({
  options: {
    offers: { type: 'string', default: '15000' },
    'per-day': { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
    phase: { type: 'string' },
    db: { type: 'string' },
    date: { type: 'string' },
  },
});
const OFFERS = Number(args.offers);
const PER_DAY = Number(args['per-day']);
const POINTS = [3, 10, 30] as const;
const DAY_MS = 86_400_000;
const FIRST_DAY = Date.UTC(2026, 10, 1);
const isoDate = (t: number) => new Date(t).toISOString().slice(0, 10);

/** Bytes this process has read through read(2)/pread(2) so far, page cache included: what SQLite asked for. */
function bytesRead(): number {
  const io = readFileSync('/proc/self/io', 'utf8');
  return Number(/^rchar: (\d+)$/m.exec(io)![1]);
}

async function phaseFix(path: string, date: string): Promise<void> {
  const db = await openDatabase(path);
  const before = bytesRead();
  const start = performance.now();
  const outcomes = await fixDate(
    { db, clock: () => Date.parse(`${date}T00:00:00Z`) + DAY_MS + 1_800_000, log: memoryLogger(), signer: benchSigner() },
    { date },
  );
  const seconds = (performance.now() - start) / 1000;
  const read = bytesRead() - before;
  await db.destroy();
  process.stdout.write(`${JSON.stringify({ seconds, count: outcomes.length, peakRssMb: process.resourceUsage().maxRSS / 1024, bytesRead: read })}\n`);
}

async function build(dir: string): Promise<Map<number, { path: string; date: string; bytes: number }>> {
  // A few distinct searches, cycled: generating a 40 MB body takes longer than storing it.
  const bodies = Array.from({ length: 4 }, (_, i) => vastSearchBody(i + 1, OFFERS, 'full'));
  const path = join(dir, 'history.db');
  let db = await openDatabase(path);
  const copies = new Map<number, { path: string; date: string; bytes: number }>();
  let n = 0;
  for (let day = 0; day < POINTS[POINTS.length - 1]!; day++) {
    for (let k = 0; k < PER_DAY; k++) {
      const at = FIRST_DAY + day * DAY_MS + Math.floor(((k + 0.5) * DAY_MS) / PER_DAY);
      await storeResponse(db, 'vast', bodies[n++ % bodies.length]!, at);
    }
    const days = day + 1;
    if ((POINTS as readonly number[]).includes(days)) {
      await db.destroy(); // checkpoints the WAL, so the copy holds everything
      const copy = join(dir, `days-${days}.db`);
      copyFileSync(path, copy);
      copies.set(days, { path: copy, date: isoDate(FIRST_DAY + day * DAY_MS), bytes: statSync(copy).size });
      process.stderr.write(`  ${days} days stored (${(statSync(copy).size / 1024 ** 2).toFixed(0)} MiB)\n`);
      db = await openDatabase(path);
    }
  }
  await db.destroy();
  return copies;
}

type FixMeasure = Measure & { bytesRead: number };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (args.phase) {
  await phaseFix(args.db!, args.date!);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'gpuidx-bench-history-'));
  try {
    console.log(`bench/history: ${PER_DAY} Vast-shaped searches of ${OFFERS} offers per day (${OFFERS * 2} observations each); fix of the newest day`);
    const copies = await build(dir);
    // Alternating runs; each fix runs on a fresh copy, so every run publishes the date for the first time.
    const all = new Map<number, FixMeasure[]>(POINTS.map((d) => [d, []]));
    for (let r = 0; r < Number(args.runs); r++) {
      for (const d of POINTS) {
        const c = copies.get(d)!;
        const run = `${c.path}.run.db`;
        copyFileSync(c.path, run);
        try {
          all.get(d)!.push(runPhase(import.meta.filename, ['--phase', 'fix', '--db', run, '--date', c.date]) as FixMeasure);
        } finally {
          for (const f of [run, `${run}-wal`, `${run}-shm`]) rmSync(f, { force: true });
        }
      }
    }
    const results: Record<string, FixMeasure> = {};
    for (const [d, ms] of all) {
      if (ms.some((m) => m.count !== ms[0]!.count)) throw new Error(`${d} days: runs published different counts`);
      results[`days-${d}`] = {
        seconds: median(ms.map((m) => m.seconds)),
        bytesRead: median(ms.map((m) => m.bytesRead)),
        count: ms[0]!.count,
        peakRssMb: Math.max(...ms.map((m) => m.peakRssMb)),
      };
    }
    const base = results['days-3']!;
    console.log(`(median of ${args.runs} alternating runs)\n`);
    console.log('| history | database | fix time | vs 3 days | bytes read by fix | vs 3 days | peak RSS |');
    console.log('|---|---|---|---|---|---|---|');
    for (const d of POINTS) {
      const m = results[`days-${d}`]!;
      const c = copies.get(d)!;
      console.log(
        `| ${d} days | ${(c.bytes / 1024 ** 2).toFixed(0)} MiB | ${m.seconds.toFixed(2)} s | ${(m.seconds / base.seconds).toFixed(2)}x | ${(m.bytesRead / 1024 ** 2).toFixed(0)} MiB | ${(m.bytesRead / base.bytesRead).toFixed(2)}x | ${m.peakRssMb.toFixed(0)} MB |`,
      );
    }
    const worst = Math.max(results['days-30']!.seconds / base.seconds, results['days-30']!.bytesRead / base.bytesRead);
    console.log(`\n30 days against 3: ${worst.toFixed(2)}x at worst (target <= 1.2x)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
