// What the benchmarks share: each measured phase runs in its own child process (so its peak RSS is its own),
// phases alternate run after run, and the median time is reported beside the peak RSS over runs.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface Measure {
  seconds: number;
  /** What the phase processed (rows read, audit rows stored, revisions matched…), checked equal across runs. */
  count: number;
  peakRssMb: number;
}

const RUN_TS = join(import.meta.dirname, '../../bin/run-ts.mjs');

/** In a phase's child process: prints its result as the last line of stdout. */
export function reportPhase(result: { seconds: number; count: number }): void {
  process.stdout.write(`${JSON.stringify({ ...result, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
}

/** Runs `script` with `args` in a child process and reads the Measure it reports. */
export function runPhase(script: string, args: readonly string[], execArgv: readonly string[] = []): Measure {
  const r = spawnSync(process.execPath, [...execArgv, RUN_TS, script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measure;
}

/** Runs a phase on its own copy of the database file `base` (`--phase P --db COPY`), then deletes the copy. */
export function runPhaseOnCopy(script: string, base: string, phase: string, execArgv: readonly string[] = [], args: readonly string[] = []): Measure {
  const copy = `${base}.${phase}.db`;
  copyFileSync(base, copy);
  try {
    return runPhase(script, ['--phase', phase, '--db', copy, ...args], execArgv);
  } finally {
    for (const f of [copy, `${copy}-wal`, `${copy}-shm`]) rmSync(f, { force: true });
  }
}

const GPUIDX = join(import.meta.dirname, '../../bin/gpuidx.mjs');
const RSS_AT_EXIT = pathToFileURL(join(import.meta.dirname, 'rss-at-exit.mjs')).href;

/** Builds dist/ when a source is newer than it: a measured `gpuidx` command then runs the compiled code, as installed. */
export function ensureBuilt(): void {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, '../../bin/build.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

/**
 * Runs the real `gpuidx` command with `args` in a child process, timing it from spawn to exit (start-up included,
 * as an operator sees it) and reading its peak RSS; `count` is left for the caller to fill in.
 */
export function runCommand(args: readonly string[], execArgv: readonly string[] = []): Measure {
  const dir = mkdtempSync(join(tmpdir(), 'gpuidx-bench-rss-'));
  const rssFile = join(dir, 'rss');
  try {
    const start = performance.now();
    const r = spawnSync(process.execPath, [...execArgv, '--import', RSS_AT_EXIT, GPUIDX, ...args], {
      encoding: 'utf8',
      env: { ...process.env, GPUIDX_BENCH_RSS_FILE: rssFile },
      maxBuffer: 64 << 20,
    });
    const seconds = (performance.now() - start) / 1000;
    if (r.status !== 0) throw new Error(`gpuidx ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
    return { seconds, count: 0, peakRssMb: Number(readFileSync(rssFile, 'utf8')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Alternates the phases `runs` times; per phase: median seconds, the count, the highest peak RSS. */
export function alternate<P extends string>(runs: number, phases: readonly P[], run: (phase: P) => Measure): Record<P, Measure> {
  const all = new Map<P, Measure[]>(phases.map((p) => [p, []]));
  for (let i = 0; i < runs; i++) for (const p of phases) all.get(p)!.push(run(p));
  const out = {} as Record<P, Measure>;
  for (const [p, ms] of all) {
    const seconds = [...ms.map((m) => m.seconds)].sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
    if (ms.some((m) => m.count !== ms[0]!.count)) throw new Error(`${p}: runs processed different counts: ${ms.map((m) => m.count).join(', ')}`);
    out[p] = { seconds, count: ms[0]!.count, peakRssMb: Math.max(...ms.map((m) => m.peakRssMb)) };
  }
  return out;
}
