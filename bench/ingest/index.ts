// bench/ingest: parse and store synthetic Vast-shaped snapshots through the real ingest path, beside a bare
// better-sqlite3 prepared-insert loop of the same observation rows. Each phase runs in its own process so that
// peak RSS is its own. Usage: npm run bench:ingest [-- --snapshots 200 --offers 1000 --shape compact|full --runs 3]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import { importFile } from '../../src/collectors/import.js';
import { toParseRecord } from '../../src/collectors/ingest.js';
import { parseGenericLine } from '../../src/collectors/venues/generic.js';
import { memoryLogger } from '../../src/log/index.js';
import { vast } from '../../src/collectors/venues/vast.js';
import { alternate, reportPhase, runPhase, type Measure } from '../shared/phases.js';
import { storeResponse } from '../shared/ingest.js';
import { writeSyntheticDay } from '../shared/synthetic-day.js';
import { vastSearchBody } from '../shared/vast-body.js';
import { openDatabase } from '../../src/storage/index.js';

const { values: args } = parseArgs({
  options: {
    snapshots: { type: 'string', default: '200' },
    offers: { type: 'string', default: '1000' },
    phase: { type: 'string' },
    /** `full`: every field of a recorded Vast offer (~2.7 KB each); `compact` (default): 20 of its fields (~350 B). */
    shape: { type: 'string', default: 'compact' },
    /** Observations of the synthetic day `gpuidx import` reads (generic JSON Lines, one snapshot per line). */
    'import-observations': { type: 'string', default: '200000' },
    /** Phases alternate this many times; medians are reported, since a shared 2-core machine is noisy. */
    runs: { type: 'string', default: '3' },
  },
});
const SHAPE = args.shape === 'full' ? 'full' : 'compact';
const SNAPSHOTS = Number(args.snapshots);
const OFFERS = Number(args.offers);
const IMPORT_OBSERVATIONS = Number(args['import-observations']);

const snapshotBody = (i: number) => vastSearchBody(i + 1, OFFERS, SHAPE);

/** vast/2: an on-demand and an interruptible observation per offer. */
const OBSERVATIONS = SNAPSHOTS * OFFERS * 2;
const T0 = Date.UTC(2026, 10, 20);
const bodies = () => Array.from({ length: SNAPSHOTS }, (_, i) => snapshotBody(i));

async function phaseIngest(dir: string): Promise<{ seconds: number; count: number }> {
  const all = bodies();
  const db = await openDatabase(join(dir, 'ingest.db'));
  const start = performance.now();
  let observations = 0;
  for (let i = 0; i < all.length; i++) {
    observations += await storeResponse(db, 'vast', all[i]!, T0 + i * 600_000);
  }
  const seconds = (performance.now() - start) / 1000;
  await db.destroy();
  if (observations !== OBSERVATIONS) throw new Error(`expected ${OBSERVATIONS} observations, stored ${observations}`);
  return { seconds, count: observations };
}

async function phaseBare(dir: string): Promise<{ seconds: number; count: number }> {
  // The same observation rows, prepared outside the timed loop, inserted with one prepared statement.
  const all = bodies();
  const rows = all.map(
    (b) => toParseRecord({ status: 200, contentType: null, body: b, truncated: false }, vast.parse, { default_quantity: 1 }).record.observations,
  );
  return bareInsert(join(dir, 'bare.db'), all, rows, (i) => ({ venue: 'vast', fetchedAt: T0 + i * 600_000 }));
}

type Rows = ReturnType<typeof toParseRecord>['record']['observations'];

/** The bare baseline: each snapshot's row, its bytes as they are and its observation rows, by prepared statements. */
async function bareInsert(path: string, all: Buffer[], rows: Rows[], at: (i: number) => { venue: string; fetchedAt: number }) {
  const schemaDb = await openDatabase(path);
  await schemaDb.destroy();
  const db = new SqliteDatabase(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // The plainest store of the same rows: a table of one row per observation with its (snapshot, position) index, as
  // gpuidx kept them before observation blocks (2026-12-03).
  db.exec(`CREATE TABLE observations (id integer PRIMARY KEY, snapshot_id integer NOT NULL REFERENCES snapshots (id), seq integer NOT NULL,
    listing_id text NOT NULL, host_id text, gpu_raw text NOT NULL, gpu_count integer NOT NULL, price_usd_per_hour real NOT NULL,
    contract text NOT NULL, available integer NOT NULL, perf_system text, perf_score_per_gpu real, region text,
    quantity_reported integer NOT NULL, machine_id text, gpu_memory_gb real);
    CREATE INDEX observations_snapshot ON observations (snapshot_id, seq);`);
  const snap = db.prepare(
    `INSERT INTO snapshots (venue, fetched_at, source, request_method, request_url, sha256, byte_size, parser_version, parse_outcome)
     VALUES (?, ?, 'http', 'POST', 'x', ?, ?, 'bench', 'ok')`,
  );
  // The bare baseline stores the bytes as they are: compression is part of what ingest costs.
  const body = db.prepare(`INSERT INTO snapshot_bodies (snapshot_id, encoding, data) VALUES (?, 'identity', ?)`);
  const obs = db.prepare(
    `INSERT INTO observations (snapshot_id, seq, listing_id, host_id, gpu_raw, gpu_count, price_usd_per_hour, contract, available,
       perf_system, perf_score_per_gpu, region, quantity_reported, machine_id, gpu_memory_gb) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
  );
  const insertSnapshot = db.transaction((i: number) => {
    const { venue, fetchedAt } = at(i);
    const id = Number(snap.run(venue, fetchedAt, String(i), all[i]!.byteLength).lastInsertRowid);
    body.run(id, all[i]!);
    for (const o of rows[i]!) {
      obs.run(
        id,
        o.seq,
        o.listing_id,
        o.host_id,
        o.gpu_raw,
        o.gpu_count,
        o.price_usd_per_hour,
        o.contract,
        o.available,
        o.perf_system,
        o.perf_score_per_gpu,
        o.region,
        o.quantity_reported,
        o.machine_id ?? null,
        o.gpu_memory_gb ?? null,
      );
    }
  });
  const start = performance.now();
  for (let i = 0; i < all.length; i++) insertSnapshot(i);
  const seconds = (performance.now() - start) / 1000;
  db.close();
  return { seconds, count: rows.reduce((n, r) => n + r.length, 0) };
}

/** `gpuidx import` of a JSON Lines file (the synthetic day's generic lines), timed from open to summary. */
async function phaseImport(dir: string): Promise<{ seconds: number; count: number }> {
  const file = join(dir, 'day.jsonl');
  await writeSyntheticDay(file, T0, IMPORT_OBSERVATIONS);
  const db = await openDatabase(join(dir, 'import.db'));
  const start = performance.now();
  const summary = await importFile({ db, clock: () => T0 + 86_400_000 + 1_800_000, log: memoryLogger() }, file);
  const seconds = (performance.now() - start) / 1000;
  await db.destroy();
  return { seconds, count: summary.observations };
}

/** The bare baseline of the same lines: parsed outside the timed loop, then inserted as the bare loop does. */
async function phaseImportBare(dir: string): Promise<{ seconds: number; count: number }> {
  const file = join(dir, 'day.jsonl');
  await writeSyntheticDay(file, T0, IMPORT_OBSERVATIONS);
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const parsed = lines.map((l) => JSON.parse(l) as { venue: string; fetched_at: number });
  const all = lines.map((l) => Buffer.from(l));
  const rows = all.map(
    (b) => toParseRecord({ status: null, contentType: null, body: b, truncated: false }, parseGenericLine, { default_quantity: 1 }).record.observations,
  );
  return bareInsert(join(dir, 'bare.db'), all, rows, (i) => ({ venue: parsed[i]!.venue, fetchedAt: parsed[i]!.fetched_at }));
}

if (args.phase) {
  const dir = mkdtempSync(join(tmpdir(), 'gpuidx-bench-'));
  try {
    const phases: Record<string, (d: string) => Promise<{ seconds: number; count: number }>> = {
      ingest: phaseIngest,
      bare: phaseBare,
      import: phaseImport,
      'import-bare': phaseImportBare,
    };
    reportPhase(await phases[args.phase]!(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  const phaseArgs = ['--snapshots', String(SNAPSHOTS), '--offers', String(OFFERS), '--shape', SHAPE];
  const { bare, ingest } = alternate(Number(args.runs), ['bare', 'ingest'] as const, (phase) =>
    runPhase(import.meta.filename, ['--phase', phase, ...phaseArgs]),
  );
  if (bare.count !== ingest.count) throw new Error(`bare stored ${bare.count} rows, ingest ${ingest.count}`);
  const n = OBSERVATIONS;
  const rate = (s: number) => Math.round(n / s);
  const fmt = (label: string, m: Measure) =>
    `${label.padEnd(38)} ${m.seconds.toFixed(2).padStart(7)} s  ${String(rate(m.seconds)).padStart(9)} obs/s  peak RSS ${m.peakRssMb.toFixed(0).padStart(5)} MB`;
  console.log(
    `bench/ingest (median of ${args.runs} alternating runs, peak RSS = max): ${SNAPSHOTS} Vast-shaped snapshots x ${OFFERS} offers = ${n} observations (vast/2: on-demand and bid) (${SHAPE} offers, ${snapshotBody(0).byteLength} bytes per snapshot)`,
  );
  console.log(fmt('baseline: bare prepared-insert loop', bare));
  console.log(fmt('gpuidx ingest (store raw, parse, store)', ingest));
  const ratio = bare.seconds / ingest.seconds;
  console.log(`ingest rate / bare rate = ${(ratio * 100).toFixed(0)}%  (target >= 50%)   ingest rate ${rate(ingest.seconds)} obs/s (target >= 100000)`);

  // The path `gpuidx import` takes: a JSON Lines file read line by line, each line a snapshot stored with its rows.
  const imp = alternate(Number(args.runs), ['import-bare', 'import'] as const, (phase) =>
    runPhase(import.meta.filename, ['--phase', phase, '--import-observations', String(IMPORT_OBSERVATIONS)]),
  );
  if (imp['import-bare'].count !== imp.import.count) throw new Error(`bare stored ${imp['import-bare'].count} rows, import ${imp.import.count}`);
  const fmtOf = (label: string, m: Measure) =>
    `${label.padEnd(38)} ${m.seconds.toFixed(2).padStart(7)} s  ${String(Math.round(m.count / m.seconds)).padStart(9)} obs/s  peak RSS ${m.peakRssMb.toFixed(0).padStart(5)} MB`;
  console.log(`\ngpuidx import of the synthetic day's JSON Lines (${imp.import.count} observations, one snapshot per line):`);
  console.log(fmtOf('baseline: bare prepared-insert loop', imp['import-bare']));
  console.log(fmtOf('gpuidx import (the CLI code path)', imp.import));
  console.log(`import rate / bare rate = ${((imp['import-bare'].seconds / imp.import.seconds) * 100).toFixed(0)}%  (target >= 50%)`);
}
