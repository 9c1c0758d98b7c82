// Audit commands: replay published fixings from raw bytes (database or bundle), export a bundle, verify the database.
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { openBundle } from '../audit/bundle.js';
import type { ReplaySource, Verdict } from '../audit/replay.js';
import { fingerprintOf, loadOrCreateSigner } from '../signing/index.js';
import { datesBetween, parseDate, UsageError } from './args.js';
import { readFileSync } from 'node:fs';
import { contextKeyPath, openContextDb, type Context } from './context.js';

// The audit layer (and the database under it) loads with the command that runs: `--help` never pays for it.
const auditLayer = async () => ({
  ...(await import('../audit/bundle.js')),
  ...(await import('../audit/db-source.js')),
  ...(await import('../audit/replay.js')),
  ...(await import('../audit/verify.js')),
  SOFTWARE_VERSION: (await import('../fixer/index.js')).SOFTWARE_VERSION,
});

interface ReplayOptions {
  date?: string;
  from?: string;
  to?: string;
  series?: string[];
  all?: boolean;
  bundle?: string;
  key?: string[];
  fingerprint?: string[];
  trustBundleKey?: boolean;
}

function printVerdict(v: Verdict): void {
  process.stdout.write(`${v.match ? 'match   ' : 'MISMATCH'}  ${v.series} ${v.date} r${v.revision}\n`);
  for (const d of v.differences) process.stdout.write(`    - ${d}\n`);
}

/** Replays dates one by one: a progress bar on a terminal for several dates, plain lines otherwise. */
async function replayDates(source: ReplaySource, dates: string[], series: string[] | undefined): Promise<Verdict[]> {
  const all: Verdict[] = [];
  const bar =
    dates.length > 1 && process.stderr.isTTY
      ? new SingleBar({ format: 'replay {bar} {value}/{total} days  {date}', stream: process.stderr, hideCursor: true })
      : null;
  bar?.start(dates.length, 0, { date: dates[0] });
  const { replayDate } = await auditLayer();
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

/** The fingerprints a command is told to trust (--key files and --fingerprint values), or null to trust the registry. */
export function trustedFingerprints(opts: { key?: string[]; fingerprint?: string[] }): string[] | null {
  if (!opts.key && !opts.fingerprint) return null;
  const out: string[] = [];
  for (const file of opts.key ?? []) {
    try {
      out.push(fingerprintOf(readFileSync(file, 'utf8')));
    } catch (err) {
      throw new UsageError(`--key ${file}: not a readable public key PEM (${(err as Error).message.split('\n')[0]})`);
    }
  }
  for (const f of opts.fingerprint ?? []) {
    if (!/^[0-9a-f]{64}$/i.test(f)) throw new UsageError(`--fingerprint must be 64 hex digits (the sha256 /v1/keys shows), got "${f}"`);
    out.push(f.toLowerCase());
  }
  return out;
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
    .option('--bundle <dir|file.tar.gz>', 'replay an exported audit bundle instead of the database (no database needed)')
    .option('--key <file...>', "with --bundle: the publisher's public key (PEM) to trust")
    .option('--fingerprint <sha256...>', "with --bundle: the fingerprint of the publisher's key to trust (as /v1/keys shows it)")
    .option('--trust-bundle-key', 'with --bundle: trust whatever key the bundle carries (proves nothing against a forger)')
    .action(async (opts: ReplayOptions) => {
      const { openBundle, methodologyChanges, BundleError, dbSource } = await auditLayer();
      if (opts.series && opts.all) throw new UsageError('--series and --all exclude each other');
      if (opts.date && (opts.from || opts.to)) throw new UsageError('give --date, or --from and --to, not both');
      let problems: string[] = [];
      let source: ReplaySource;
      let dates: string[];
      let close: () => void | Promise<void> = () => {};
      if (opts.bundle) {
        const pinned = trustedFingerprints(opts);
        if (!pinned && !opts.trustBundleKey) {
          throw new UsageError(
            "--bundle needs the publisher's key to trust: --key FILE or --fingerprint SHA256 (from /v1/keys), or --trust-bundle-key to accept the bundle's own key",
          );
        }
        if (pinned && opts.trustBundleKey) throw new UsageError('--trust-bundle-key and --key/--fingerprint exclude each other');
        if (opts.trustBundleKey) {
          process.stderr.write(
            'WARNING  --trust-bundle-key: trusting the key the bundle itself carries; a bundle forged end to end and re-signed would pass\n',
          );
        }
        let bundle: Awaited<ReturnType<typeof openBundle>>;
        try {
          bundle = await openBundle(opts.bundle, pinned ? { fingerprints: pinned } : 'bundle-key');
        } catch (err) {
          if (err instanceof BundleError) throw new UsageError(err.message);
          throw err;
        }
        for (const k of bundle.keys)
          process.stdout.write(`key       ${k.key_id}  fingerprint ${k.fingerprint}${pinned ? '  (pinned)' : "  (the bundle's own: NOT pinned)"}\n`);
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
        close = bundle.close;
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
        if (verdicts.length === 0) process.stdout.write('nothing was replayed: no fixing is published for the date(s) asked\n');
        // Replaying nothing proves nothing: it is not a success.
        setExitCode(bad > 0 || problems.length > 0 || verdicts.length === 0 ? 1 : 0);
      } finally {
        await close();
      }
    });

  program
    .command('export')
    .description('write the audit bundle of a date: raw bytes, parameters, signed fixings, audit rows, signed manifest')
    .requiredOption('--date <YYYY-MM-DD>', 'the date to export')
    .requiredOption('--out <dir|file.tar.gz>', 'a new (or empty) folder, or a new FILE.tar.gz (with FILE.tar.gz.sig, the manifest signature)')
    .option('--series <code...>', 'only these series (default: all)')
    .action(async (opts: { date: string; out: string; series?: string[] }) => {
      const { exportBundle, BundleError, SOFTWARE_VERSION } = await auditLayer();
      const date = parseDate('--date', opts.date);
      const c = ctx();
      const db = await openContextDb(c, { readOnly: true });
      try {
        const { signer } = loadOrCreateSigner(contextKeyPath(c));
        const manifest = await exportBundle(db, signer, {
          date,
          out: opts.out,
          softwareVersion: SOFTWARE_VERSION,
          clock: Date.now,
          ...(opts.series ? { series: opts.series } : {}),
        });
        const bytes = manifest.files.reduce((n, f) => n + f.bytes, 0);
        process.stdout.write(
          `${opts.out}: ${manifest.files.length} files, ${bytes} bytes, ${manifest.series.length} series of ${date}; check it with: gpuidx replay --bundle ${opts.out} --fingerprint ${fingerprintOf(signer.publicKeyPem)}\n`,
        );
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
    .description('check tamper evidence: append-only triggers, body hashes, signatures, the fixings hash chain and chain heads, audit references')
    .option('--key <file...>', "trust only these public keys (PEM) to have signed; default: the database's key registry")
    .option('--fingerprint <sha256...>', 'trust only keys with these fingerprints (as /v1/keys shows them)')
    .option('--head <hash...>', 'chain hashes kept from /v1/chain/head: prove nothing published up to them changed')
    .action(async (opts: { key?: string[]; fingerprint?: string[]; head?: string[] }) => {
      const { verifyDatabase } = await auditLayer();
      const trusted = trustedFingerprints(opts);
      const db = await openContextDb(ctx(), { readOnly: true });
      try {
        const report = await verifyDatabase(db, { ...(trusted ? { trustedFingerprints: trusted } : {}), ...(opts.head ? { heads: opts.head } : {}) });
        for (const p of report.problems) process.stdout.write(`PROBLEM  ${p}\n`);
        for (const k of report.keys)
          process.stdout.write(
            `key      ${k.key_id}  fingerprint ${k.fingerprint}${trusted ? '  (pinned)' : '  (from the database registry; pin it with --fingerprint)'}\n`,
          );
        process.stdout.write(
          report.problems.length
            ? `${report.problems.length} problem(s) in ${report.snapshots} snapshots and ${report.fixings} fixing revisions\n`
            : `verified: ${report.snapshots} snapshots hash to their recorded sha256; ${report.fixings} fixing revisions agree with their records, ${report.fixings - report.unsigned} carry valid signatures made at publication${report.unsigned ? ` (${report.unsigned} older ones predate stored signatures)` : ''}, and form an unbroken hash chain matching ${report.chainHeads} signed chain head(s)${opts.head ? `, including the ${opts.head.length} kept head(s)` : ''}; append-only triggers exactly as created\n`,
        );
        setExitCode(report.problems.length ? 1 : 0);
      } finally {
        await db.destroy();
      }
    });
}
