// bench/api: load the publication API on loopback with autocannon, beside a Hono hello-world route served by the
// same process in the same run. The database holds one year of GPUIDX-H100-SXM and GPUIDX-COMPUTE fixings, and every
// series on the last day, made through the real import and fixing path. Usage: npm run bench:api [-- --seconds 10 --connections 32]
import { benchSigner } from '../shared/signer.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { startApi } from '../../src/api/server.js';
import { importFile } from '../../src/collectors/import.js';
import { fixDate } from '../../src/fixer/index.js';
import { createLogger, memoryLogger } from '../../src/log/index.js';
import { openDatabase } from '../../src/storage/index.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    serve: { type: 'string' },
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
  const dbPath = join(dir, 'api.db');
  try {
    // Setup (not measured): a year of small market days, each fixed for GPUIDX-H100-SXM.
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

    const child = spawn(process.execPath, [join(import.meta.dirname, '../../bin/run-ts.mjs'), import.meta.filename, '--serve', dbPath], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [first] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const urls = JSON.parse(first) as { api: string; hello: string };
    const seconds = Number(args.seconds);
    const connections = Number(args.connections);
    const load = async (url: string, allowStatus?: number, headers?: Record<string, string>) => {
      const r = await autocannon({ url, connections, duration: seconds, pipelining: 1, ...(headers ? { headers } : {}) });
      // Health answers 503 here (the bench's fixings are older than its freshness bound): the same work as a 200.
      const unexpected = allowStatus === 503 ? r.non2xx - (r['5xx'] ?? 0) : r.non2xx;
      if (unexpected || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
    };
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
        label: 'GET /v1/history one-year CSV of 2 series',
        url: `${urls.api}/v1/history?series=GPUIDX-H100-SXM,GPUIDX-COMPUTE&from=${from}&to=${to}&format=csv`,
        target: 20,
      },
    ];
    const check = (await (await fetch(subjects[1]!.url)).json()) as { fixings: unknown[] };
    if (check.fixings.length !== DAYS) throw new Error(`history holds ${check.fixings.length} fixings, expected ${DAYS}`);
    await load(`${urls.hello}/hello`); // warm-up, discarded
    // Each subject runs right after its own hello-world run: the ratio compares two loads a few seconds apart.
    const rows: string[] = [];
    const row = (label: string, m: { rps: number; p50: number; p99: number }) =>
      `${label.padEnd(46)} ${m.rps.toFixed(0).padStart(7)} req/s   p50 ${String(m.p50).padStart(4)} ms   p99 ${String(m.p99).padStart(4)} ms`;
    const verdicts: string[] = [];
    for (const subject of subjects) {
      const hello = await load(`${urls.hello}/hello`);
      const m = await load(subject.url, subject.allow, subject.headers);
      const share = (m.rps / hello.rps) * 100;
      rows.push(row('  baseline: Hono hello world', hello), row(subject.label, m));
      verdicts.push(
        `${subject.label}: ${share.toFixed(0)}% of hello world (target >= ${subject.target}%)${subject.target === 50 && subject.allow === undefined ? `, p99 ${m.p99} ms (target <= 10 ms)` : ''}`,
      );
    }
    child.kill('SIGTERM');
    console.log(`bench/api: ${seconds} s per load, ${connections} connections, loopback, autocannon; ${DAYS} daily fixings of GPUIDX-H100-SXM`);
    for (const r of rows) console.log(r);
    console.log('');
    for (const v of verdicts) console.log(v);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
