// `gpuidx demo` and `gpuidx simulate`: the whole pipeline on a simulated month, and simulated data for benchmarks.
import { MultiBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { loadOrCreateSigner } from '../signing/index.js';
import { describeTarget } from '../storage/target.js';
import { loadMethodologies } from '../methodology/params.js';
import { simulatedLines } from '../simulator/generic.js';
import { parseDate, parseWholeNumber, UsageError } from './args.js';
import { apiServer, contextKeyPath, storage, type Context } from './context.js';

const stamp = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export function registerDemoCommands(
  program: Command,
  ctx: () => Context,
  setExitCode: (code: number) => void,
  untilSignal: (c: Context) => Promise<unknown>,
): void {
  program
    .command('demo')
    .description('simulate a month of GPU rental markets, collect it with the real collectors, publish every day, serve the API')
    .option('--days <n>', 'simulated days to backfill', '30')
    .option('--seed <n>', 'market simulation seed', '42')
    .option('--port <n>', 'API port (0 picks a free one)', '8080')
    .option('--no-serve', 'stop after publishing instead of serving the API')
    .option('--methodology <version>', 'fix every simulated day with this methodology version (default: the one in force on each date)')
    .option('--end <date>', 'the simulated days end before this UTC date (default: today, or later so that the newest methodology is shown)')
    .action(async (opts: { days: string; seed: string; port: string; serve: boolean; methodology?: string; end?: string }) => {
      const { demoWindowEnd, runDemo } = await import('../demo/index.js');
      const { latestFixingOf } = await storage();
      const days = parseWholeNumber('--days', opts.days, 1, 366);
      const seed = parseWholeNumber('--seed', opts.seed, 0, 2 ** 31);
      const port = parseWholeNumber('--port', opts.port, 0, 65535);
      const newest = loadMethodologies().at(-1)!;
      const end = opts.end ? Date.parse(`${parseDate('--end', opts.end)}T00:00:00Z`) : demoWindowEnd(Date.now(), days, newest.effective_from);
      const c = ctx();
      // The demo keeps its own database unless one is named, so it never mixes with collected data.
      const dbPath = program.opts<{ db?: string }>().db ?? c.env.GPUIDX_DB ?? './data/demo.db';
      const tty = process.stderr.isTTY;
      const bars = tty
        ? new MultiBar({ format: '{phase} {bar} {value}/{total} {detail}', hideCursor: true, stream: process.stderr }, Presets.shades_classic)
        : null;
      const collectBar = bars?.create(days * 144, 0, { phase: 'collect', detail: '' });
      const fixBar = bars?.create(days, 0, { phase: 'publish', detail: '' });
      let lastLine = 0;
      process.stderr.write(`gpuidx demo: simulating ${days} days of six venues (seed ${seed}) into ${describeTarget(dbPath)}\n`);
      if (end > Date.now()) {
        process.stderr.write(
          `gpuidx demo: methodology ${newest.version} takes effect on ${newest.effective_from}, so the simulated days run past today to ${new Date(end - 86_400_000).toISOString().slice(0, 10)} (choose with --end)\n`,
        );
      }
      const quiet = { info: () => {}, warn: () => {}, error: () => {} };
      const result = await runDemo({
        dbPath,
        days,
        seed,
        scale: 1,
        now: end,
        log: quiet,
        signer: loadOrCreateSigner(contextKeyPath({ ...c, dbPath })).signer,
        ...(opts.methodology ? { methodologyVersion: opts.methodology } : {}),
        progress: (phase, done, total, detail) => {
          if (bars) (phase === 'collect' ? collectBar : fixBar)?.update(done, { detail });
          else if (phase === 'fix' || done === total || done - lastLine >= total / 10) {
            lastLine = done;
            process.stderr.write(`${phase === 'collect' ? 'collected up to' : 'published'} ${detail} (${done}/${total})\n`);
          }
        },
      });
      bars?.stop();
      const h100 = await latestFixingOf(result.db, 'GPUIDX-H100-SXM');
      process.stdout.write(
        [
          `${result.snapshots} snapshots, ${result.observations} observations from ${result.runs.ok + result.runs.partial} collector runs (${result.runs.failed} failed on purpose: an outage, a malformed payload, a schema change)`,
          `${result.published} fixings published for ${result.firstDate} .. ${result.lastDate}`,
          `GPUIDX-H100-SXM ${h100?.date}: ${h100?.value} USD per GPU-hour (${h100?.status})`,
          `took ${duration(result.seconds.collect + result.seconds.fix)}: collection ${duration(result.seconds.collect)}, fixing ${duration(result.seconds.fix)}`,
          '',
        ].join('\n'),
      );
      if (!opts.serve) {
        await result.db.destroy();
        setExitCode(0);
        return;
      }
      let api: Awaited<ReturnType<Awaited<ReturnType<typeof apiServer>>['startApi']>>;
      try {
        api = await (await apiServer()).startApi(result.db, { ...c.config.api, port }, c.log);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        api = await (await apiServer()).startApi(result.db, { ...c.config.api, port: 0 }, c.log);
      }
      const u = api.url;
      process.stdout.write(
        [
          `API: ${u}   (reference: ${u}/docs)`,
          `  curl -s ${u}/v1/series/GPUIDX-H100-SXM/fixings/latest`,
          `  curl -s "${u}/v1/series/GPUIDX-H100-SXM/fixings?from=${result.firstDate}&to=${result.lastDate}&format=csv"`,
          `  curl -s ${u}/v1/series/GPUIDX-H100-SXM/fixings/${result.lastDate}/audit?limit=5`,
          `  curl -s ${u}/v1/health      (503 from ${stamp(end + 3_600_000)} on, rightly: the simulated collection stops at ${stamp(end)})`,
          `Replay any day from the raw bytes:  npx gpuidx --db ${dbPath} replay --date ${result.lastDate}`,
          `Export an audit bundle:             npx gpuidx --db ${dbPath} export --date ${result.lastDate} --out ./bundle-${result.lastDate}`,
          `Settle a month (after its cut-off): npx gpuidx --db ${dbPath} settle --month ${result.firstDate.slice(0, 7)}`,
          '',
          `Dashboard: ${u}/   (the month of fixings as charts; open it in a browser)`,
          'Ctrl-C stops the server.',
          '',
        ].join('\n'),
      );
      await untilSignal(c);
      await api.close();
      await result.db.destroy();
      setExitCode(0);
    });

  program
    .command('simulate')
    .description('write simulated snapshots as generic-venue JSON Lines (for benchmarks and tests)')
    .option('--days <n>', 'simulated days, ending at the start of today (UTC)', '1')
    .option('--scale <k>', 'listings multiplier per venue', '1')
    .option('--seed <n>', 'market simulation seed', '42')
    .requiredOption('--out <file>', 'JSON Lines file to write')
    .action(async (opts: { days: string; scale: string; seed: string; out: string }) => {
      const days = parseWholeNumber('--days', opts.days, 1, 3660);
      const scale = Number(opts.scale);
      if (!(scale > 0 && scale <= 100_000)) throw new UsageError(`--scale must be a number above 0, got "${opts.scale}"`);
      const seed = parseWholeNumber('--seed', opts.seed, 0, 2 ** 31);
      const end = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const out = createWriteStream(opts.out);
      let lines = 0;
      let listings = 0;
      for (const line of simulatedLines({ seed, scale, from: end - days * 86_400_000, to: end })) {
        lines += 1;
        listings += line.listings;
        if (!out.write(`${line.text}\n`)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      process.stdout.write(`${opts.out}: ${lines} snapshots, ${listings} listings over ${days} day(s); import with: gpuidx import ${opts.out}\n`);
      setExitCode(0);
    });
}

/** 312.4 -> "5 min 12 s". */
function duration(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}
