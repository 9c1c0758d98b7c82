// bench/fixing: one synthetic day of 1,000,000 observations (20 classes, 8 venues), imported through the real
// generic-venue path, then every series fixed and stored with its audit rows, beside the time to merely read and
// decompress the window's stored observations with a bare better-sqlite3 query. Each phase runs in its own process on its
// own copy of the database, so that peak RSS is its own; and beside DuckDB doing the simplified job (weighted median,
// count, min and max of the per-GPU price per class and contract) over a Parquet export of the same rows.
// Usage: npm run bench:fixing [-- --observations 1000000 --runs 3 --heap-mb 1200 --methodology 2.0.0]
import { copyFileSync, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { stringify } from 'csv-stringify/sync';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { brotliDecompressSync } from 'node:zlib';
import SqliteDatabase from 'better-sqlite3';
import { importFile } from '../../src/collectors/import.js';
import { memoryLogger } from '../../src/log/index.js';
import { openDatabase, readObservationBlock } from '../../src/storage/index.js';
import { alternate, ensureBuilt, reportPhase, runCommand, runPhase, runPhaseOnCopy, type Measure } from '../shared/phases.js';
import { writeSyntheticDay } from '../shared/synthetic-day.js';

const { values: args } = parseArgs({
  options: {
    observations: { type: 'string', default: '1000000' },
    /** Days stored before the fixed one, each as large: the input window reaches back into them (steady state). */
    'previous-days': { type: 'string', default: '2' },
    /** Day sizes in millions of observations, for example 0.25,0.5,1,2: the whole comparison per size. */
    sizes: { type: 'string' },
    runs: { type: 'string', default: '3' },
    phase: { type: 'string' },
    db: { type: 'string' },
    /** V8 old-space limit for the fix phase: most of its default peak RSS is heap V8 has not yet collected. */
    'heap-mb': { type: 'string' },
    /** Fix with this methodology version (default: the one in force on the date, 1.0.0). */
    methodology: { type: 'string' },
  },
});

const DATE = '2026-11-20';
const DAY = Date.UTC(2026, 10, 20);

/** The window's observation blocks (the day and the days before it), with one prepared statement. */
function windowBlocks(db: SqliteDatabase.Database, from: number): Iterable<{ row_count: number; encoding: string; data: Buffer }> {
  return db
    .prepare(
      `SELECT b.row_count, b.encoding, b.data FROM observation_blocks b JOIN snapshots s ON s.id = b.snapshot_id
        WHERE s.fetched_at >= ? AND s.fetched_at < ? AND s.parse_outcome IN ('ok', 'partial') ORDER BY s.fetched_at, s.id`,
    )
    .iterate(from, DAY + 86_400_000) as Iterable<{ row_count: number; encoding: string; data: Buffer }>;
}

/**
 * Baseline: what any reader of the stored observations pays, and nothing more: the window's observation blocks
 * (gpuidx stores a snapshot's observations as one compressed block) read with one prepared statement and
 * decompressed, without building anything from them.
 */
function phaseRead(path: string): { seconds: number; count: number } {
  const db = new SqliteDatabase(path, { readonly: true });
  const start = performance.now();
  let rows = 0;
  for (const b of windowBlocks(db, DAY - Number(args['previous-days']) * 86_400_000)) {
    brotliDecompressSync(b.data);
    rows += b.row_count;
  }
  const seconds = (performance.now() - start) / 1000;
  db.close();
  return { seconds, count: rows };
}

/**
 * The tool an analyst would reach for: DuckDB (in-process, all cores) computing, per raw GPU name (one per class
 * in the synthetic day) and contract, the GPU-weighted median, count, min and max of the per-GPU price, from a
 * Parquet export of the rows the bare read reads. The export is made in setup, not measured.
 */
async function phaseDuckdb(parquet: string): Promise<{ seconds: number; count: number }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  const start = performance.now();
  const result = await c.runAndReadAll(`
    WITH o AS (SELECT gpu_raw, contract, price_usd_per_hour / gpu_count AS p, gpu_count AS w FROM read_parquet('${parquet}')),
    r AS (SELECT gpu_raw, contract, p, w,
                 SUM(w) OVER (PARTITION BY gpu_raw, contract ORDER BY p ROWS UNBOUNDED PRECEDING) AS cw,
                 SUM(w) OVER (PARTITION BY gpu_raw, contract) AS tw FROM o)
    SELECT gpu_raw, contract, COUNT(*) AS n, MIN(p) AS lo, MAX(p) AS hi, MIN(CASE WHEN cw >= tw / 2 THEN p END) AS median
      FROM r GROUP BY gpu_raw, contract`);
  const seconds = (performance.now() - start) / 1000;
  return { seconds, count: result.getRows().length };
}

/** Setup for the DuckDB phase: the observations of the window from `from`, as Parquet (through a CSV file DuckDB loads). */
async function exportParquet(path: string, parquet: string, from: number): Promise<void> {
  const db = new SqliteDatabase(path, { readonly: true });
  const csv = `${parquet}.csv`;
  const out = createWriteStream(csv);
  out.write('gpu_raw,contract,gpu_count,price_usd_per_hour\n');
  for (const stored of windowBlocks(db, from)) {
    const read = readObservationBlock(stored);
    if (!read.ok) throw new Error(`observation block: ${read.reason}`);
    const b = read.block;
    const lines: string[] = [];
    for (let k = 0; k < b.length; k++) lines.push(stringify([[b.strings[b.gpuRaw[k]!], b.strings[b.contract[k]!], b.gpuCount[k], b.price[k]]]));
    if (!out.write(lines.join(''))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  db.close();
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const c = await (await DuckDBInstance.create(':memory:')).connect();
  await c.run(`COPY (SELECT * FROM read_csv('${csv}', header = true)) TO '${parquet}' (FORMAT parquet)`);
  rmSync(csv);
}

/**
 * gpuidx: `gpuidx fix` itself, the compiled command an operator runs (start-up included), on its own copy of the
 * database: read, compute every series, store fixings and their audit rows, sign. Counts the audit rows stored.
 */
function phaseFix(base: string, execArgv: readonly string[]): Measure {
  const copy = `${base}.fix.db`;
  copyFileSync(base, copy);
  try {
    const m = runCommand(['--db', copy, 'fix', '--date', DATE, ...(args.methodology ? ['--methodology', args.methodology] : [])], execArgv);
    const db = new SqliteDatabase(copy, { readonly: true });
    const published = db.prepare('SELECT count(*) FROM fixings').pluck().get() as number;
    const audit = auditRowCount(db);
    db.close();
    if (published === 0) throw new Error('gpuidx fix published nothing');
    return { ...m, count: audit };
  } finally {
    for (const f of [copy, `${copy}-wal`, `${copy}-shm`, `${copy}.signing-key.pem`]) rmSync(f, { force: true });
  }
}

/** Audit rows stored in a database. */
function auditRowCount(db: SqliteDatabase.Database): number {
  return db.prepare('SELECT coalesce(sum(row_count), 0) FROM fixing_audit').pluck().get() as number;
}

/**
 * Methodology v2 admits venues by provenance: imported lines are `file`, the collectors' snapshots `http`. For
 * this benchmark only, the synthetic day is re-labelled as collected (the append-only trigger is lifted for the
 * one update and put back exactly), so that v2 weighs its six collector venues as it would on a real day.
 */
function markCollected(path: string): void {
  const raw = new SqliteDatabase(path);
  const trigger = raw.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'snapshots_body_immutable'").get() as { sql: string };
  raw.exec('DROP TRIGGER snapshots_body_immutable');
  raw.exec("UPDATE snapshots SET source = 'http'");
  raw.exec(trigger.sql);
  raw.close();
}

if (args.phase) {
  reportPhase(args.phase === 'duckdb' ? await phaseDuckdb(args.db!) : phaseRead(args.db!));
} else {
  ensureBuilt();
  // --sizes 0.25,0.5,1,2 (millions) runs the whole comparison per day size, to show time and memory against size.
  const sizes = args.sizes ? args.sizes.split(',').map((x) => Math.round(Number(x) * 1_000_000)) : [Number(args.observations)];
  const table: string[] = [];
  for (const n of sizes) table.push(await compare(n));
  if (sizes.length > 1) {
    console.log('\n| observations | bare read | gpuidx fix | DuckDB | fix / read | fix / DuckDB | fix peak RSS |');
    console.log('|---|---|---|---|---|---|---|');
    for (const row of table) console.log(row);
  }
}

/** One day of `observations`: setup, then the three phases alternating; prints the figures, returns a table row. */
async function compare(observations: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'gpuidx-bench-fixing-'));
  try {
    const base = join(dir, 'base.db');
    const setupStart = performance.now();
    const db = await openDatabase(base);
    // The steady state: the days before also stored (the input window reaches back into them), each its own market.
    const previousDays = Number(args['previous-days']);
    let day: Awaited<ReturnType<typeof writeSyntheticDay>> | undefined;
    let stored = 0;
    for (let k = previousDays; k >= 0; k--) {
      const file = join(dir, `day-${k}.jsonl`);
      const written = await writeSyntheticDay(file, DAY - k * 86_400_000, observations, 1 + k);
      const summary = await importFile({ db, clock: () => DAY + 86_400_000 + 1_800_000, log: memoryLogger() }, file);
      if (summary.observations !== written.observations) throw new Error(`imported ${summary.observations} of ${written.observations} observations`);
      stored += written.observations;
      rmSync(file);
      if (k === 0) day = written;
    }
    await db.destroy(); // closes the connection, which checkpoints the WAL into the file we copy
    if (args.methodology && !args.methodology.startsWith('1.')) markCollected(base);
    if (!day) throw new Error('no day written');
    console.log(
      `setup: ${day.snapshots} snapshots, ${day.observations} observations on ${DATE}, ${stored} in all with the ${previousDays} day(s) before, imported in ${((performance.now() - setupStart) / 1000).toFixed(1)} s (not measured)`,
    );

    const heap = args['heap-mb'] ? [`--max-old-space-size=${args['heap-mb']}`] : [];
    const parquet = join(dir, 'day.parquet');
    // DuckDB over the rows the fix reads (the input window: the day and the days before it) and over the day alone.
    const parquetDay = join(dir, 'day-only.parquet');
    await exportParquet(base, parquet, DAY - previousDays * 86_400_000);
    await exportParquet(base, parquetDay, DAY);
    const { read, fix, duckdb, duckdbDay } = alternate(Number(args.runs), ['read', 'fix', 'duckdb', 'duckdbDay'] as const, (phase) =>
      phase === 'duckdb' || phase === 'duckdbDay'
        ? runPhase(import.meta.filename, ['--phase', 'duckdb', '--db', phase === 'duckdb' ? parquet : parquetDay])
        : phase === 'fix'
          ? phaseFix(base, heap)
          : runPhaseOnCopy(import.meta.filename, base, phase, [], ['--previous-days', String(previousDays)]),
    );
    const fmt = (label: string, m: Measure, what: string) =>
      `${label.padEnd(46)} ${m.seconds.toFixed(2).padStart(7)} s  peak RSS ${m.peakRssMb.toFixed(0).padStart(5)} MB  (${m.count} ${what})`;
    console.log(
      `bench/fixing (median of ${args.runs} alternating runs, peak RSS = max): ${DATE}, ${day.observations} observations, 8 venues, 20 classes, methodology ${args.methodology ?? 'in force (1.0.0)'}`,
    );
    console.log(fmt('baseline: read and decompress the window', read, 'observations'));
    console.log(fmt('gpuidx fix (read, compute all series, store)', fix, 'audit rows stored'));
    console.log(fmt('DuckDB: weighted median, count, min, max', duckdb, 'class x contract groups'));
    console.log(fmt('DuckDB, the same over the day alone', duckdbDay, 'class x contract groups'));
    console.log(
      `fix time / bare read time = ${(fix.seconds / read.seconds).toFixed(2)}x   fix time / DuckDB time = ${(fix.seconds / duckdb.seconds).toFixed(1)}x (target <= 5x; ${(fix.seconds / duckdbDay.seconds).toFixed(1)}x the day alone)   peak RSS ${fix.peakRssMb.toFixed(0)} MB (target <= 400 MB)`,
    );
    return `| ${day.observations} | ${read.seconds.toFixed(2)} s | ${fix.seconds.toFixed(2)} s | ${duckdb.seconds.toFixed(2)} s | ${(fix.seconds / read.seconds).toFixed(2)}x | ${(fix.seconds / duckdb.seconds).toFixed(1)}x | ${fix.peakRssMb.toFixed(0)} MB |`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
