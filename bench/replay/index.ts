// bench/replay: replay one synthetic day of 1,000,000 observations from the raw snapshot bodies (re-parse,
// recompute, compare every published field and audit row), beside computing that day's fixings from the stored
// observation rows. Each phase runs in its own process on its own copy of the database.
// Usage: npm run bench:replay [-- --observations 1000000 --runs 3]
import { benchSigner } from '../shared/signer.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dbSource } from '../../src/audit/db-source.js';
import { replayDate } from '../../src/audit/replay.js';
import { importFile } from '../../src/collectors/import.js';
import { computeDate, fixDate, methodologyFor } from '../../src/fixer/index.js';
import { memoryLogger } from '../../src/log/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { alternate, reportPhase, runPhaseOnCopy } from '../shared/phases.js';
import { writeSyntheticDay } from '../shared/synthetic-day.js';

const { values: args } = parseArgs({
  options: {
    observations: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    phase: { type: 'string' },
    db: { type: 'string' },
  },
});

const DATE = '2026-11-20';
const DAY = Date.UTC(2026, 10, 20);

async function phase(name: string, path: string): Promise<{ seconds: number; count: number }> {
  const db = await openDatabase(path);
  const start = performance.now();
  let count = 0;
  if (name === 'compute') {
    const { results } = await computeDate(db, DATE, methodologyFor(DATE)!);
    for (const r of results) count += r.audit.length;
  } else {
    const verdicts = await replayDate(dbSource(db), DATE);
    const bad = verdicts.filter((v) => !v.match);
    if (bad.length) throw new Error(`replay mismatch: ${JSON.stringify(bad.slice(0, 2))}`);
    count = verdicts.length;
  }
  const seconds = (performance.now() - start) / 1000;
  await db.destroy();
  return { seconds, count };
}

if (args.phase) {
  reportPhase(await phase(args.phase, args.db!));
} else {
  const dir = mkdtempSync(join(tmpdir(), 'gpuidx-bench-replay-'));
  try {
    const file = join(dir, 'day.jsonl');
    const base = join(dir, 'base.db');
    const setupStart = performance.now();
    const day = await writeSyntheticDay(file, DAY, Number(args.observations));
    const db = await openDatabase(base);
    const deps = { db, clock: () => DAY + 86_400_000 + 1_800_000, log: memoryLogger(), signer: benchSigner() };
    await importFile(deps, file);
    await fixDate(deps, { date: DATE });
    await db.destroy();
    console.log(
      `setup: ${day.snapshots} snapshots, ${day.observations} observations imported and fixed in ${((performance.now() - setupStart) / 1000).toFixed(1)} s (not measured)`,
    );

    const { compute, replay } = alternate(Number(args.runs), ['compute', 'replay'] as const, (name) => runPhaseOnCopy(import.meta.filename, base, name));
    console.log(`bench/replay (median of ${args.runs} alternating runs, peak RSS = max): ${DATE}, ${day.observations} observations`);
    console.log(
      `${'baseline: compute the fixings from stored observations'.padEnd(58)} ${compute.seconds.toFixed(2).padStart(7)} s  peak RSS ${compute.peakRssMb.toFixed(0).padStart(5)} MB  (${compute.count} audit rows)`,
    );
    console.log(
      `${'gpuidx replay (re-parse raw bodies, recompute, compare)'.padEnd(58)} ${replay.seconds.toFixed(2).padStart(7)} s  peak RSS ${replay.peakRssMb.toFixed(0).padStart(5)} MB  (${replay.count} revisions matched)`,
    );
    console.log(`replay time / compute time = ${(replay.seconds / compute.seconds).toFixed(2)}x (target <= 2x)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
