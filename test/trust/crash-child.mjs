// A writer for the kill -9 test: opens the database as every gpuidx command does (with start-up recovery), says
// "ready", then collects, imports a file or publishes dates until done, or until the parent kills it mid-write.
// Plain JavaScript over the compiled modules (bin/load.mjs), so that each of the test's many rounds starts fast.
import { createPrivateKey } from 'node:crypto';
import { importFromSource } from '../../bin/load.mjs';

const [
  { importFile },
  { recoverSnapshots },
  { fixDate },
  { memoryLogger },
  { openDatabase },
  { collectVenue, realSleep },
  { akash },
  { parseConfig },
  { createRedactor },
  { globalFetch, httpPolicySchema },
  { signerFromPrivateKey },
] = await Promise.all(
  [
    'collectors/import',
    'collectors/recover',
    'fixer/index',
    'log/index',
    'storage/index',
    'collectors/runner',
    'collectors/venues/akash',
    'config/index',
    'collectors/redact',
    'collectors/http',
    'signing/index',
  ].map(importFromSource),
);

// The same fixed key as test/helpers.ts testSigner(1): an Ed25519 key from 32 bytes of 0x01.
const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 1)]);
const signer = signerFromPrivateKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));

const [mode, dbPath, ...rest] = process.argv.slice(2);
const db = await openDatabase(dbPath);
await recoverSnapshots(db);
process.stdout.write('ready\n');
const log = memoryLogger();
if (mode === 'import') {
  await importFile({ db, clock: Date.now, log }, rest[0]);
} else if (mode === 'collect') {
  // The real collector path (fetch, store raw, parse, record the run) against a loopback Akash.
  const config = parseConfig({ venues: { akash: { base_url: rest[0] } } }).venues.akash;
  const deps = { db, fetch: globalFetch, clock: Date.now, sleep: realSleep, random: Math.random, log, redactor: createRedactor([]), env: {} };
  for (let i = 0; i < 20; i++) await collectVenue(deps, akash, config, httpPolicySchema.parse({}));
} else {
  for (const date of rest) await fixDate({ db, clock: Date.now, log, signer }, { date });
}
await db.destroy();
process.stdout.write('done\n');
