// bench/storage: database growth per venue per day through the real ingest path, raw bytes beside what is
// stored. Three tables, all measured in this run:
//  1. each venue's recorded-shape fixture stored at the default cadence (every 10 minutes: 144 runs a day);
//  2. a 20,000-offer Vast-shaped search (all fields of a recorded offer, per-machine values varied), a few
//     snapshots stored and scaled to a day at 144 and at 24 runs;
//  3. the compression levels on that body, beside the bytes as received: the measurement behind the stored level.
// Usage: npm run bench:storage [-- --offers 20000 --snapshots 3]
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';
import type { VenueName } from '../../src/collectors/venues/index.js';
import { BROTLI_QUALITY, bodyStorage, openDatabase, type Db } from '../../src/storage/index.js';
import { storeResponse } from '../shared/ingest.js';
import { vastSearchBody } from '../shared/vast-body.js';

const { values: args } = parseArgs({ options: { offers: { type: 'string', default: '20000' }, snapshots: { type: 'string', default: '3' } } });
const OFFERS = Number(args.offers);
const SNAPSHOTS = Number(args.snapshots);
const FIXTURES = join(import.meta.dirname, '../../fixtures/venues');
const RUNS_PER_DAY = 144;
const T0 = Date.UTC(2026, 10, 20);
/** The fixture bodies one collection run of each venue stores (Azure pages through two). */
const PAGES: Record<VenueName, string[]> = {
  vast: ['vast/offers.json'],
  runpod: ['runpod/gputypes.json'],
  lambda: ['lambda/instance-types.json'],
  tensordock: ['tensordock/locations.json'],
  akash: ['akash/gpu-prices.json'],
  azure: ['azure/prices-page1.json', 'azure/prices-page2.json'],
};

const KiB = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const GiB = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;

/** An empty, migrated database file and its size. */
async function emptyDb(path: string): Promise<number> {
  const db = await openDatabase(path);
  await db.destroy();
  return statSync(path).size;
}

/** File growth, and the bodies' original and stored bytes, after `fill` (the WAL checkpointed into the file). */
async function measure(path: string, fill: (db: Db) => Promise<number>): Promise<{ growth: number; observations: number; raw: number; stored: number }> {
  const before = await emptyDb(path);
  const db = await openDatabase(path);
  const observations = await fill(db);
  const bodies = await bodyStorage(db);
  await db.destroy();
  return {
    growth: statSync(path).size - before,
    observations,
    raw: bodies.reduce((n, b) => n + b.original_bytes, 0),
    stored: bodies.reduce((n, b) => n + b.stored_bytes, 0),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'gpuidx-bench-storage-'));
try {
  console.log(
    `bench/storage: bodies stored brotli quality ${BROTLI_QUALITY}; "before" is the same database with the bodies stored as received (growth - stored + raw)\n`,
  );
  console.log('1. Recorded-shape fixtures, 144 runs a day\n');
  console.log(
    '| venue | body bytes per run | observations per run | snapshots per day | raw bodies per day | stored bodies per day | growth per day before | growth per day now | growth per year now |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const [name, pages] of Object.entries(PAGES) as [VenueName, string[]][]) {
    const bodies = pages.map((p) => readFileSync(join(FIXTURES, p)));
    const m = await measure(join(dir, `${name}.db`), async (db) => {
      let n = 0;
      for (let run = 0; run < RUNS_PER_DAY; run++) for (const body of bodies) n += await storeResponse(db, name, body, T0 + run * 600_000);
      return n;
    });
    const before = m.growth - m.stored + m.raw;
    console.log(
      `| ${name} | ${bodies.reduce((n, b) => n + b.length, 0)} | ${m.observations / RUNS_PER_DAY} | ${bodies.length * RUNS_PER_DAY} | ${KiB(m.raw)} | ${KiB(m.stored)} | ${KiB(before)} | ${KiB(m.growth)} | ${MiB(m.growth * 365)} |`,
    );
  }

  console.log(`\n2. A ${OFFERS}-offer Vast-shaped search (full offers), ${SNAPSHOTS} snapshots stored, scaled to a day\n`);
  const searches = Array.from({ length: SNAPSHOTS }, (_, i) => vastSearchBody(i + 1, OFFERS, 'full'));
  const m = await measure(join(dir, 'vast-full.db'), async (db) => {
    let n = 0;
    for (let i = 0; i < searches.length; i++) n += await storeResponse(db, 'vast', searches[i]!, T0 + i * 600_000);
    return n;
  });
  const perSnapshot = { raw: m.raw / SNAPSHOTS, stored: m.stored / SNAPSHOTS, growth: m.growth / SNAPSHOTS };
  const beforeEach = perSnapshot.growth - perSnapshot.stored + perSnapshot.raw;
  console.log('| cadence | snapshot body | stored body | growth per snapshot before | now | per venue-day before | now | per year before | now |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const runs of [144, 24]) {
    console.log(
      `| ${runs} a day | ${MiB(perSnapshot.raw)} | ${MiB(perSnapshot.stored)} (1/${(perSnapshot.raw / perSnapshot.stored).toFixed(1)}) | ${MiB(beforeEach)} | ${MiB(perSnapshot.growth)} | ${GiB(beforeEach * runs)} | ${GiB(perSnapshot.growth * runs)} | ${GiB(beforeEach * runs * 365)} | ${GiB(perSnapshot.growth * runs * 365)} |`,
    );
  }
  console.log(
    `(${m.observations / SNAPSHOTS} observations per snapshot: each offer's ask and its bid floor; the rest of the growth is the snapshot's observation block, its row and indexes)`,
  );

  console.log('\n3. Compression of one such body, beside the bytes as received\n');
  const body = searches[0]!;
  console.log('| form | bytes | share of raw | compress | decompress |');
  console.log('|---|---|---|---|---|');
  console.log(`| as received | ${body.length} | 100% | - | - |`);
  const time = <T>(f: () => T): [T, number] => {
    const t = performance.now();
    const r = f();
    return [r, performance.now() - t];
  };
  const forms: [string, () => Buffer, (b: Buffer) => Buffer][] = [
    ['gzip 6', () => gzipSync(body, { level: 6 }), gunzipSync],
    ['gzip 9', () => gzipSync(body, { level: 9 }), gunzipSync],
    ...[1, 3, 4, 5, 6, 9].map((q): [string, () => Buffer, (b: Buffer) => Buffer] => [
      `brotli ${q}${q === BROTLI_QUALITY ? ' (stored)' : ''}`,
      () => brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: q, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
      brotliDecompressSync,
    ]),
  ];
  for (const [name, compress, decompress] of forms) {
    const [c, ms] = time(compress);
    const [d, dms] = time(() => decompress(c));
    if (!d.equals(body)) throw new Error(`${name} did not round-trip`);
    console.log(`| ${name} | ${c.length} | ${((100 * c.length) / body.length).toFixed(1)}% | ${(ms / 1000).toFixed(2)} s | ${(dms / 1000).toFixed(2)} s |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
