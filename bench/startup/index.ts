// bench/startup: wall time of `gpuidx --help` and `gpuidx methodology --json` beside `node -e 0`, median of
// alternating runs, each in a fresh process (what a user or a cron job pays per command).
// Usage: npm run bench:startup [-- --runs 9]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '9' } } });
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'gpuidx.mjs');
const subjects: [string, string[]][] = [
  ['baseline: node -e 0', ['-e', '0']],
  ['gpuidx --help', [BIN, '--help']],
  ['gpuidx methodology --json', [BIN, 'methodology', '--json']],
];

const times = new Map<string, number[]>(subjects.map(([label]) => [label, []]));
for (let i = 0; i < Number(args.runs); i++) {
  for (const [label, argv] of subjects) {
    const start = performance.now();
    const r = spawnSync(process.execPath, argv, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${label} failed: ${r.stderr}`);
    times.get(label)!.push((performance.now() - start) / 1000);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(times.get('baseline: node -e 0')!);
console.log(`bench/startup (median of ${args.runs} alternating runs; the build in dist/ must be fresh, else tsx compiles the sources)`);
for (const [label] of subjects) {
  const m = median(times.get(label)!);
  console.log(`${label.padEnd(30)} ${m.toFixed(3)} s${label.startsWith('baseline') ? '' : `   +${(m - base).toFixed(3)} s over node (target <= +0.300 s)`}`);
}
