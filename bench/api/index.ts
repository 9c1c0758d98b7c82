// bench/api: load the publication API on loopback (load.ts), beside a Hono hello-world route served by the
// same process in the same run. The database holds one year of GPUIDX-H100-SXM and GPUIDX-COMPUTE fixings, and every
// series on the last day, made through the real import and fixing path. Usage: npm run bench:api [-- --seconds 5 --rounds 3 --connections 32 --db KEEP.db]
import { benchSigner } from '../shared/signer.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { startApi } from '../../src/api/server.js';
import { load, type Load, type LoadOptions } from './load.js';
import { importFile } from '../../src/collectors/import.js';
import { fixDate } from '../../src/fixer/index.js';
import { createLogger, memoryLogger } from '../../src/log/index.js';
import { openDatabase } from '../../src/storage/index.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    serve: { type: 'string' },
    // Keep the set-up database at this path (made if missing, reused if present): repeated runs skip the set-up.
    db: { type: 'string' },
  },
});

const FIRST = Date.UTC(2025, 10, 21);
/** The request log line is built as in production; where it goes (a terminal, a file) is not what is measured. */
const NULL_LOG = createLogger({ write: () => {} });
const DAYS = 365;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

if (args.serve) {
  // Child: the API and the hello-world app in one process, each on its own port.
  const db = await openDatabase(args.serve);
  const api = await startApi(
    db,
    { host: '127.0.0.1', port: 0, max_range_days: 3660, health: { max_fixing_age_hours: 24 * 3660, max_collection_age_minutes: 60 * 24 * 3660 } },
    NULL_LOG,
  );
  const hello = new Hono().get('/hello', (c) => c.text('hello'));
  const server = serve({ fetch: hello.fetch, hostname: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  process.stdout.write(`${JSON.stringify({ api: api.url, hello: `http://127.0.0.1:${port}` })}\n`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'gpuidx-bench-api-'));
  const dbPath = args.db ?? join(dir, 'api.db');
  try {
    if (!existsSync(dbPath)) await setUp(dir, dbPath);

    const child = spawn(process.execPath, [join(import.meta.dirname, '../../bin/run-ts.mjs'), import.meta.filename, '--serve', dbPath], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [first] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const urls = JSON.parse(first) as { api: string; hello: string };
    const seconds = Number(args.seconds);
    const connections = Number(args.connections);
    const rounds = Number(args.rounds);
    const serverPid = child.pid;
    const measure = (url: string, extra: Pick<LoadOptions, 'headers' | 'allowStatus'> = {}) =>
      load(url, { connections, seconds, ...(serverPid === undefined ? {} : { serverPid }), ...extra });
    const from = iso(FIRST);
    const to = iso(FIRST + (DAYS - 1) * 86_400_000);
    const subjects: { label: string; url: string; target: number; allow?: number; headers?: Record<string, string> }[] = [
      { label: 'GET .../fixings/latest', url: `${urls.api}/v1/series/GPUIDX-H100-SXM/fixings/latest`, target: 50 },
      { label: 'GET .../fixings one-year history (JSON)', url: `${urls.api}/v1/series/GPUIDX-H100-SXM/fixings?from=${from}&to=${to}`, target: 20 },
      {
        label: 'GET .../fixings one-year history (JSON, gzip)',
        url: `${urls.api}/v1/series/GPUIDX-H100-SXM/fixings?from=${from}&to=${to}`,
        target: 20,
        headers: { 'accept-encoding': 'gzip' },
      },
      { label: 'GET .../fixings one-year history (CSV)', url: `${urls.api}/v1/series/GPUIDX-H100-SXM/fixings?from=${from}&to=${to}&format=csv`, target: 20 },
      { label: 'GET /v1/health', url: `${urls.api}/v1/health`, target: 50, allow: 503 },
      { label: 'GET /v1/fixings/{date} cross-section (41 series, signed)', url: `${urls.api}/v1/fixings/${to}`, target: 20 },
      {
        label: 'GET /v1/fixings/{date} cross-section (gzip)',
        url: `${urls.api}/v1/fixings/${to}`,
        target: 20,
        headers: { 'accept-encoding': 'gzip' },
      },
      {
        label: 'GET /v1/history one-year CSV of 2 series',
        url: `${urls.api}/v1/history?series=GPUIDX-H100-SXM,GPUIDX-COMPUTE&from=${from}&to=${to}&format=csv`,
        target: 20,
      },
    ];
    const check = (await (await fetch(subjects[1]!.url)).json()) as { fixings: unknown[] };
    if (check.fixings.length !== DAYS) throw new Error(`history holds ${check.fixings.length} fixings, expected ${DAYS}`);
    await measure(`${urls.hello}/hello`); // warm-up, discarded
    // Each subject runs right after its own hello-world run (the ratio compares two loads a few seconds apart), and
    // the pair is repeated `rounds` times; the round with the median ratio is reported.
    const ms = (x: number) => x.toFixed(1).padStart(5);
    const cpu = (m: Load) => (m.cpuUsPerRequest === null ? '' : `   server CPU ${m.cpuUsPerRequest.toFixed(0).padStart(4)} us/req`);
    const row = (label: string, m: Load) =>
      `${label.padEnd(52)} ${m.rps.toFixed(0).padStart(7)} req/s   p50 ${ms(m.p50)} ms   p99 ${ms(m.p99)} ms${cpu(m)}   ${m.bytes} B`;
    const rows: string[] = [];
    const verdicts: string[] = [];
    for (const subject of subjects) {
      const pairs: { hello: Load; m: Load; share: number }[] = [];
      for (let r = 0; r < rounds; r++) {
        const hello = await measure(`${urls.hello}/hello`);
        const m = await measure(subject.url, {
          ...(subject.headers ? { headers: subject.headers } : {}),
          ...(subject.allow ? { allowStatus: subject.allow } : {}),
        });
        pairs.push({ hello, m, share: (m.rps / hello.rps) * 100 });
      }
      const { hello, m, share } = pairs.sort((a, b) => a.share - b.share)[Math.floor(pairs.length / 2)]!;
      rows.push(row('  baseline: Hono hello world', hello), row(subject.label, m));
      const p99 = subject.target === 50 && subject.allow === undefined ? `, p99 ${m.p99.toFixed(1)} ms (target <= 10 ms)` : '';
      const met = share >= subject.target && (!p99 || m.p99 <= 10);
      verdicts.push(
        `${met ? 'met   ' : 'MISSED'} ${subject.label}: ${share.toFixed(0)}% of hello world (target >= ${subject.target}%; rounds: ${pairs.map((p) => p.share.toFixed(0)).join(', ')})${p99}`,
      );
    }
    child.kill('SIGTERM');
    console.log(
      `bench/api: ${rounds} rounds of ${seconds} s per load, ${connections} connections, loopback, undici client; ${DAYS} daily fixings of GPUIDX-H100-SXM`,
    );
    for (const r of rows) console.log(r);
    console.log('');
    for (const v of verdicts) console.log(v);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Set-up (not measured): a year of small market days, each fixed for GPUIDX-H100-SXM and the composite. */
async function setUp(dir: string, dbPath: string): Promise<void> {
  const file = join(dir, 'year.jsonl');
  const lines: string[] = [];
  for (let d = 0; d < DAYS; d++) {
    for (const [v, venue] of ['partner-a', 'partner-b', 'partner-c'].entries()) {
      const listings = [0, 1, 2, 3].map((k) => ({
        listing_id: `${venue}-${k}`,
        gpu: 'H100 SXM',
        gpu_count: 1 + k,
        price_usd_per_hour: Number(((2 + 0.1 * v + 0.05 * k + 0.001 * d) * (1 + k)).toFixed(4)),
        contract: 'on_demand',
        available: true,
      }));
      lines.push(JSON.stringify({ venue, fetched_at: FIRST + d * 86_400_000 + v * 60_000, listings }));
    }
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  const db = await openDatabase(dbPath);
  const deps = { db, clock: () => FIRST + DAYS * 86_400_000 + 3_600_000, log: memoryLogger(), signer: benchSigner() };
  await importFile(deps, file);
  for (let d = 0; d < DAYS; d++)
    await fixDate(deps, { date: iso(FIRST + d * 86_400_000), series: ['GPUIDX-H100-SXM', 'GPUIDX-COMPUTE'], methodologyVersion: '1.0.0' });
  // The last day's cross-section holds every series of the catalogue.
  await fixDate(deps, { date: iso(FIRST + (DAYS - 1) * 86_400_000), methodologyVersion: '1.0.0' });
  await db.destroy();
}
