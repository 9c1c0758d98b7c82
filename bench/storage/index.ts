// bench/storage: database growth per venue per day, measured by storing each venue's recorded-shape fixture at
// the venue's default cadence (every 10 minutes: 144 runs a day) into an empty SQLite file through the real
// ingest path. Prints the markdown table kept in methodology/AUDIT.md. Usage: npm run bench:storage
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestBody } from '../../src/collectors/ingest.js';
import { createRedactor } from '../../src/collectors/redact.js';
import { VENUES, type VenueName } from '../../src/collectors/venues/index.js';
import { openDatabase } from '../../src/storage/index.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/venues');
const RUNS_PER_DAY = 144;
/** The fixture bodies one collection run of each venue stores (Azure pages through two). */
const PAGES: Record<VenueName, string[]> = {
  vast: ['vast/offers.json'],
  runpod: ['runpod/gputypes.json'],
  lambda: ['lambda/instance-types.json'],
  tensordock: ['tensordock/locations.json'],
  akash: ['akash/gpu-prices.json'],
  azure: ['azure/prices-page1.json', 'azure/prices-page2.json'],
};

const dir = mkdtempSync(join(tmpdir(), 'gpuidx-bench-storage-'));
const rows: string[] = [];
try {
  for (const [name, pages] of Object.entries(PAGES) as [VenueName, string[]][]) {
    const path = join(dir, `${name}.db`);
    const empty = await openDatabase(path);
    await empty.destroy();
    const before = statSync(path).size;
    const db = await openDatabase(path);
    const adapter = VENUES[name];
    const bodies = pages.map((p) => readFileSync(join(FIXTURES, p)));
    let observations = 0;
    for (let run = 0; run < RUNS_PER_DAY; run++) {
      for (const body of bodies) {
        const r = await ingestBody(db, {
          venue: name,
          fetchedAt: Date.UTC(2026, 10, 20) + run * 600_000,
          source: 'http',
          requestMethod: 'GET',
          requestUrl: `https://example.invalid/${name}`,
          requestBody: null,
          received: { status: 200, contentType: 'application/json', body, truncated: false },
          parserVersion: adapter.parserVersion,
          parserOptions: { default_quantity: 1 },
          parse: (json, options) => adapter.parse(json, options),
          runId: null,
          redactor: createRedactor([]),
          receivedAt: Date.UTC(2026, 10, 20) + run * 600_000,
        });
        observations += r.observations;
      }
    }
    await db.destroy(); // checkpoints the WAL into the file
    const growth = statSync(path).size - before;
    const bodyBytes = bodies.reduce((n, b) => n + b.length, 0);
    rows.push(`| ${name} | ${bodyBytes} | ${observations / RUNS_PER_DAY} | ${bodies.length * RUNS_PER_DAY} | ${(growth / 1024).toFixed(0)} KiB | ${((growth * 365) / 1024 / 1024).toFixed(1)} MiB |`);
  }
  console.log('| venue | body bytes per run (fixture) | observations per run | snapshots per day | growth per day | growth per year |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
