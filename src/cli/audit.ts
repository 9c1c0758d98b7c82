// Audit commands: replay published fixings from raw bytes (database or bundle), export a bundle, verify the database.
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { openBundle, exportBundle, methodologyChanges, BundleError } from '../audit/bundle.js';
import { dbSource } from '../audit/db-source.js';
import { replayDate, type ReplaySource, type Verdict } from '../audit/replay.js';
import { verifyDatabase } from '../audit/verify.js';
import { SOFTWARE_VERSION } from '../fixer/index.js';
import { defaultKeyPath, loadOrCreateSigner } from '../signing/index.js';
import { datesBetween, parseDate, UsageError } from './args.js';
import { openContextDb, type Context } from './context.js';

interface ReplayOptions {
  date?: string;
  from?: string;
  to?: string;
  series?: string[];
  all?: boolean;
  bundle?: string;
}

function printVerdict(v: Verdict): void {
  process.stdout.write(`${v.match ? 'match   ' : 'MISMATCH'}  ${v.series} ${v.date} r${v.revision}\n`);
  for (const d of v.differences) process.stdout.write(`    - ${d}\n`);
}

/** Replays dates one by one: a progress bar on a terminal for several dates, plain lines otherwise. */
async function replayDates(source: ReplaySource, dates: string[], series: string[] | undefined): Promise<Verdict[]> {
  const all: Verdict[] = [];
  const bar = dates.length > 1 && process.stderr.isTTY ? new SingleBar({ format: 'replay {bar} {value}/{total} days  {date}', stream: process.stderr, hideCursor: true }) : null;
  bar?.start(dates.length, 0, { date: dates[0] });
  for (const date of dates) {
    const verdicts = await replayDate(source, date, series);
    bar?.increment(1, { date });
    // Mismatches are printed as they are found; matches are summarized at the end on a terminal.
    for (const v of verdicts) if (!bar || !v.match) printVerdict(v);
    if (verdicts.length === 0 && !bar) process.stdout.write(`none      no published fixing for ${date}\n`);
    all.push(...verdicts);
  }
  bar?.stop();
  return all;
}

export function registerAuditCommands(program: Command, ctx: () => Context, setExitCode: (code: number) => void): void {
  program
    .command('replay')
    .description('re-derive published fixings from the raw snapshot bytes and compare every field and audit row')
    .option('--date <YYYY-MM-DD>', 'the date to replay')
    .option('--from <YYYY-MM-DD>', 'first date of a range')
    .option('--to <YYYY-MM-DD>', 'last date of a range (inclusive)')
    .option('--series <code...>', 'only these series')
    .option('--all', 'every series (the default)')
    .option('--bundle <dir>', 'replay an exported audit bundle instead of the database (no database needed)')
    .action(async (opts: ReplayOptions) => {
      if (opts.series && opts.all) throw new UsageError('--series and --all exclude each other');
      if (opts.date && (opts.from || opts.to)) throw new UsageError('give --date, or --from and --to, not both');
      let problems: string[] = [];
      let source: ReplaySource;
      let dates: string[];
      let close = async () => {};
      if (opts.bundle) {
        let bundle;
        try {
          bundle = openBundle(opts.bundle);
        } catch (err) {
          if (err instanceof BundleError || err instanceof SyntaxError) throw new UsageError(err.message);
          throw err;
        }
        problems = [...bundle.problems];
        for (const path of bundle.manifest.files.map((f) => f.path).filter((p) => p.startsWith('methodology/'))) {
          try {
            const m = bundle.source.methodology(path.slice('methodology/'.length, -'.json'.length));
            problems.push(...methodologyChanges(m).map((c) => `${path}: differs from the published methodology ${m.version}: ${c}`));
          } catch (err) {
            problems.push(`${path}: ${(err as Error).message}`);
          }
        }
        source = bundle.source;
        dates = [opts.date ? parseDate('--date', opts.date) : bundle.manifest.date];
      } else {
        if (!opts.date && !(opts.from && opts.to)) throw new UsageError('give --date D, or --from D1 --to D2, or --bundle DIR');
        dates = opts.date ? [parseDate('--date', opts.date)] : datesBetween(parseDate('--from', opts.from!), parseDate('--to', opts.to!));
        if (dates.length === 0) throw new UsageError(`--from ${opts.from} is after --to ${opts.to}`);
        const db = await openContextDb(ctx(), { readOnly: true });
        source = dbSource(db);
        close = () => db.destroy();
      }
      try {
        for (const p of problems) process.stdout.write(`BUNDLE    ${p}\n`);
        const verdicts = await replayDates(source, dates, opts.series);
        const bad = verdicts.filter((v) => !v.match).length;
        process.stdout.write(
          `replayed ${verdicts.length} fixing revision(s) over ${dates.length} date(s): ${verdicts.length - bad} match, ${bad} mismatch${problems.length ? `; ${problems.length} bundle problem(s)` : ''}\n`,
        );
        setExitCode(bad > 0 || problems.length > 0 ? 1 : 0);
      } finally {
        await close();
      }
    });

  program
    .command('export')
    .description('write the audit bundle of a date: raw bytes, parameters, signed fixings, audit rows, signed manifest')
    .requiredOption('--date <YYYY-MM-DD>', 'the date to export')
    .requiredOption('--out <dir>', 'a new (or empty) folder')
    .option('--series <code...>', 'only these series (default: all)')
    .action(async (opts: { date: string; out: string; series?: string[] }) => {
      const date = parseDate('--date', opts.date);
      const c = ctx();
      const db = await openContextDb(c, { readOnly: true });
      try {
        const { signer } = loadOrCreateSigner(c.config.api.signing_key_file ?? defaultKeyPath(c.dbPath));
        const manifest = await exportBundle(db, signer, { date, out: opts.out, softwareVersion: SOFTWARE_VERSION, clock: Date.now, ...(opts.series ? { series: opts.series } : {}) });
        const bytes = manifest.files.reduce((n, f) => n + f.bytes, 0);
        process.stdout.write(`${opts.out}: ${manifest.files.length} files, ${bytes} bytes, ${manifest.series.length} series of ${date}; check it with: gpuidx replay --bundle ${opts.out}\n`);
        setExitCode(0);
      } catch (err) {
        if (err instanceof BundleError) throw new UsageError(err.message);
        throw err;
      } finally {
        await db.destroy();
      }
    });

  program
    .command('verify')
    .description('check tamper evidence: append-only triggers, body hashes, the fixings hash chain, audit references')
    .action(async () => {
      const db = await openContextDb(ctx(), { readOnly: true });
      try {
        const report = await verifyDatabase(db);
        for (const p of report.problems) process.stdout.write(`PROBLEM  ${p}\n`);
        process.stdout.write(
          report.problems.length
            ? `${report.problems.length} problem(s) in ${report.snapshots} snapshots and ${report.fixings} fixing revisions\n`
            : `verified: ${report.snapshots} snapshots hash to their recorded sha256, ${report.fixings} fixing revisions agree with their records and form an unbroken hash chain, append-only triggers in place\n`,
        );
        setExitCode(report.problems.length ? 1 : 0);
      } finally {
        await db.destroy();
      }
    });
}
