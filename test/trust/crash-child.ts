// A writer for the kill -9 test: opens the database as every gpuidx command does (with start-up recovery), says
// "ready", then imports a file or publishes dates until done, or until the parent kills it mid-write.
import { importFile } from '../../src/collectors/import.js';
import { recoverSnapshots } from '../../src/collectors/recover.js';
import { fixDate } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { collectVenue } from '../../src/collectors/runner.js';
import { akash } from '../../src/collectors/venues/akash.js';
import { testDeps, testPolicy, testSigner, venueConfig } from '../helpers.js';

const [mode, dbPath, ...rest] = process.argv.slice(2);
const db = await openDatabase(dbPath!);
await recoverSnapshots(db);
process.stdout.write('ready\n');
if (mode === 'import') {
  await importFile({ db, clock: Date.now, log: memoryLogger() }, rest[0]!);
} else if (mode === 'collect') {
  // The real collector path (fetch, store raw, parse, record the run) against a loopback Akash.
  const config = venueConfig('akash', { base_url: rest[0]! });
  for (let i = 0; i < 20; i++) await collectVenue({ ...testDeps(db), clock: Date.now }, akash, config, testPolicy);
} else {
  for (const date of rest) await fixDate({ db, clock: Date.now, log: memoryLogger(), signer: testSigner() }, { date });
}
await db.destroy();
process.stdout.write('done\n');
