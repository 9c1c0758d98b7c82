// The `gpuidx` command line: demo, migrate, collect, run, serve, import, venues, fix, replay, export, verify,
// simulate, methodology.
import { Command, CommanderError, Option } from 'commander';
// Modules that store, fix or collect are imported by the commands that use them (`await import`), so that
// `--help` and `methodology` load neither the database driver nor Kysely (bench/startup).
import type { FixOutcome } from '../fixer/index.js';
import { classifier } from '../methodology/shared.js';
import { memoryClassifier } from '../methodology/v2.js';
import { EXIT } from './exit-codes.js';
import { seriesCatalog } from '../methodology/series.js';
import { methodologyTables } from '../methodology/document.js';
import { loadMethodology, parameterHash, UnknownMethodologyError, type Methodology } from '../methodology/params.js';
import type { VenueAdapter, VenueBaseConfig } from '../collectors/adapter.js';
import type { RunSummary } from '../collectors/runner.js';
import { getVenue, VENUE_NAMES, type VenueName } from '../collectors/venues/index.js';
import { ConfigError, type Config } from '../config/index.js';
import { describeTarget } from '../storage/target.js';
import type { rawGpuNames } from '../storage/index.js';
import { apiServer, collectorDeps, contextSigner, createContext, openContextDb, storage, type Context, type GlobalOptions } from './context.js';
import { parseDate, parseMonth, parseWholeNumber, UsageError } from './args.js';
import { registerAuditCommands } from './audit.js';
import { registerKeyCommands } from './keys.js';
import { registerDemoCommands } from './demo.js';

function selectVenues(config: Config, names: VenueName[] | undefined): { adapter: VenueAdapter<VenueBaseConfig>; config: VenueBaseConfig }[] {
  const chosen = names && names.length > 0 ? names : VENUE_NAMES.filter((n) => config.venues[n].enabled);
  return chosen.map((n) => ({ adapter: getVenue(n), config: config.venues[n] }));
}

function printFixOutcomes(outcomes: FixOutcome[]): void {
  for (const o of outcomes) {
    const head = `${o.series.padEnd(26)} revision ${o.revision}  `;
    const line =
      o.action === 'unchanged'
        ? `${head}unchanged (same inputs)`
        : o.action === 'needs_restatement'
          ? `${head}NOT PUBLISHED: ${o.detail}`
          : `${head}${o.status.padEnd(15)} ${o.value ?? '-'}${o.action === 'would_publish' ? '  (dry run: not stored)' : ''}`;
    process.stdout.write(`${line}\n`);
  }
}

function printSummaries(summaries: RunSummary[]): void {
  const rows = summaries.map((s) => [s.venue, s.outcome, String(s.snapshots), String(s.observations), String(s.attempts), s.error ?? s.warning ?? '']);
  const head = ['venue', 'outcome', 'snapshots', 'observations', 'attempts', 'error'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i < 5 ? r[i]!.length : 0))));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i < 5 ? c.padEnd(widths[i]!) : c))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[fmt(head), ...rows.map(fmt)].join('\n')}\n`);
}

/** Resolves on SIGTERM or SIGINT, after aborting the given controller. */
function untilSignal(controller: AbortController, ctx: Context): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string) => {
      ctx.log.info(`${signal} received: finishing current writes, then exiting`);
      controller.abort();
      resolve(signal);
    };
    process.once('SIGTERM', () => on('SIGTERM'));
    process.once('SIGINT', () => on('SIGINT'));
  });
}

/** What one `gpuidx run` process does; a deployment splits them over machines (README: Deployment). */
export const ROLES = ['collector', 'publisher', 'api'] as const;
export type Role = (typeof ROLES)[number];

async function runScheduler(ctx: Context, names: VenueName[] | undefined, roles: ReadonlySet<Role>): Promise<number> {
  // Only a collector or publisher writes; an API replica opens the database as `serve` does.
  const db = roles.has('collector') || roles.has('publisher') ? await openContextDb(ctx) : await openContextDb(ctx, { readOnly: true });
  const controller = new AbortController();
  // Listening before anything is started: a SIGTERM during start-up (modules still loading, the API binding)
  // stops cleanly too, instead of killing the process mid-write.
  const stopped = untilSignal(controller, ctx);
  const deps = await collectorDeps(ctx, db, controller.signal);
  const { scheduleCollectors } = await import('../scheduler/index.js');
  const { schedulePublication } = await import('../fixer/schedule.js');
  const { publisherLease } = await storage();
  const schedule = roles.has('collector') ? scheduleCollectors(deps, selectVenues(ctx.config, names), ctx.config.http) : null;
  const publisher = roles.has('publisher')
    ? schedulePublication(
        {
          db,
          clock: Date.now,
          log: ctx.log,
          signer: contextSigner(ctx),
          publicationDelayMs: ctx.config.fixing.publication_delay_minutes * 60_000,
          lease: await publisherLease(ctx.dbPath),
        },
        ctx.config.fixing.publish_schedule,
      )
    : null;
  const api = roles.has('api') ? await (await apiServer()).startApi(db, ctx.config.api, ctx.log) : null;
  ctx.log.info(`running as ${[...roles].join(' + ')} against ${describeTarget(ctx.dbPath)}; SIGTERM or Ctrl-C stops cleanly`);
  await stopped;
  await Promise.all([schedule?.stop(), publisher?.stop(), api?.close()]);
  await db.destroy();
  ctx.log.info('stopped cleanly');
  return 0;
}

/**
 * The raw names no class of `m` takes, most frequent first: names of no class at all (`unmapped_gpu`, counted over
 * every memory), and, where the methodology classes by memory (v2 on), names whose reported memory fits no class
 * of theirs (`memory_mismatch`) or that need one and came without (`memory_ambiguous`), per memory.
 */
function unclassedNames(m: Methodology, rows: Awaited<ReturnType<typeof rawGpuNames>>) {
  const byName = classifier(m);
  const byMemory = m.parameters.memory_tolerance === undefined ? null : memoryClassifier(m, m.parameters.memory_tolerance);
  const out = new Map<string, { venue: string; raw: string; memory: number | null; reason: string; n: number; lastSeen: number }>();
  for (const r of rows) {
    const reason = byMemory ? byMemory(r.venue, r.gpu_raw, r.gpu_memory_gb).reason : byName(r.venue, r.gpu_raw) === null ? 'unmapped_gpu' : null;
    if (reason === null) continue;
    const memory = reason === 'unmapped_gpu' ? null : r.gpu_memory_gb;
    const key = `${r.venue}\u0000${r.gpu_raw}\u0000${memory}\u0000${reason}`;
    const hit = out.get(key) ?? { venue: r.venue, raw: r.gpu_raw, memory, reason, n: 0, lastSeen: 0 };
    out.set(key, { ...hit, n: hit.n + r.n, lastSeen: Math.max(hit.lastSeen, r.last_seen) });
  }
  const text = (x: { venue: string; raw: string }) => `${x.venue}\u0000${x.raw}`;
  return [...out.values()].sort((a, b) => b.n - a.n || (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : (a.memory ?? -1) - (b.memory ?? -1)));
}

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('gpuidx')
    .description('GPU rental price index engine: raw-first collection, daily fixings, signed publication')
    .option('--db <path|url>', 'SQLite database file or postgres:// URL (env GPUIDX_DB; default ./data/gpuidx.db)')
    .option('--config <path>', 'configuration file (env GPUIDX_CONFIG; default ./gpuidx.config.json when present)')
    .showHelpAfterError()
    .exitOverride();

  const ctx = (): Context => createContext(program.opts<GlobalOptions>());
  const venueOption = () => new Option('--venue <name...>', 'only these venues').choices(VENUE_NAMES);

  program
    .command('migrate')
    .description('bring the database schema up to date (also done on every start)')
    .option('--vacuum', 'then rewrite the file to return freed pages to the disk (after the body migration: about 40% smaller)')
    .action(async (opts: { vacuum?: boolean }) => {
      const c = ctx();
      const { openDatabase, migrateToLatest, vacuum } = await storage();
      const db = await openDatabase(c.dbPath, { migrate: false });
      try {
        const applied = await migrateToLatest(db);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : `${describeTarget(c.dbPath)}: schema is up to date\n`);
        if (opts.vacuum) {
          const { before, after } = await vacuum(db, c.dbPath);
          process.stdout.write(`${describeTarget(c.dbPath)}: ${before} bytes -> ${after} bytes\n`);
        }
      } finally {
        await db.destroy();
      }
    });

  program
    .command('copy')
    .description('copy a whole database into a new, empty one: SQLite file to PostgreSQL to move up, or back to a file for an auditor')
    .requiredOption('--from <path|url>', 'the database to copy (a SQLite file or postgres:// URL); it is read inside one write transaction')
    .requiredOption('--to <path|url>', 'a new SQLite file, or an empty PostgreSQL database; written in one transaction')
    .action(async (opts: { from: string; to: string }) => {
      const { openDatabase, copyDatabase, CopyTargetNotEmptyError, describeTarget } = await storage();
      const { verifyDatabase } = await import('../audit/verify.js');
      const { SingleBar } = await import('cli-progress');
      const c = ctx();
      const busy = c.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: c.busyTimeoutMs };
      const from = await openDatabase(opts.from, { mustExist: true, ...busy });
      try {
        const to = await openDatabase(opts.to, busy);
        try {
          const bar = process.stderr.isTTY ? new SingleBar({ format: 'copy {table}: {value} rows', stream: process.stderr, hideCursor: true }) : null;
          bar?.start(0, 0, { table: '' });
          const report = await copyDatabase(from, to, (table, rows) => bar?.update(rows, { table })).catch((err: unknown) => {
            bar?.stop();
            if (err instanceof CopyTargetNotEmptyError) throw new UsageError(`${describeTarget(opts.to)}: ${err.message}`);
            throw err;
          });
          bar?.stop();
          for (const [table, rows] of Object.entries(report)) process.stdout.write(`${table.padEnd(17)} ${rows}\n`);
          // The copy is only as good as its proof: the same checks an auditor runs, on the copy.
          const check = await verifyDatabase(to);
          for (const p of check.problems) process.stdout.write(`PROBLEM  ${p}\n`);
          process.stdout.write(
            check.problems.length
              ? `${describeTarget(opts.to)}: copied, but verify found ${check.problems.length} problem(s)\n`
              : `${describeTarget(opts.to)}: copied and verified: ${check.snapshots} snapshots hash to their sha256, ${check.fixings} fixing revisions agree with their records and signatures in an unbroken chain\n`,
          );
          setExitCode(check.problems.length ? 1 : 0);
        } finally {
          await to.destroy();
        }
      } finally {
        await from.destroy();
      }
    });

  program
    .command('collect')
    .description('collect GPU listings from the venues: once, or on their schedule')
    .addOption(venueOption())
    .option('--once', 'collect every selected venue once now, print a summary and exit')
    .action(async (opts: { venue?: VenueName[]; once?: boolean }) => {
      const c = ctx();
      if (!opts.once) {
        setExitCode(await runScheduler(c, opts.venue, new Set(['collector'])));
        return;
      }
      const db = await openContextDb(c);
      const { collectVenues } = await import('../collectors/runner.js');
      const summaries = await collectVenues(await collectorDeps(c, db), selectVenues(c.config, opts.venue), c.config.http);
      await db.destroy();
      printSummaries(summaries);
      // A failed or degraded venue fails the command loudly; a venue skipped for want of its key does not.
      setExitCode(summaries.some((s) => s.outcome === 'failed' || s.outcome === 'degraded') ? 1 : 0);
    });

  program
    .command('run')
    .description("run the collectors on their schedules, publish each day's fixings after it ends and serve the API, until SIGTERM")
    .addOption(
      new Option('--role <role...>', 'only these parts (default all): collector, publisher (elected: one per database), api').choices([...ROLES, 'all']),
    )
    .action(async (opts: { role?: (Role | 'all')[] }) => {
      const roles = new Set<Role>(!opts.role || opts.role.includes('all') ? ROLES : (opts.role as Role[]));
      setExitCode(await runScheduler(ctx(), undefined, roles));
    });

  program
    .command('serve')
    .description('serve the publication API (read-only) until SIGTERM')
    .option('--port <n>', 'TCP port (default: api.port in the configuration, 8080)')
    .option('--host <address>', 'address to listen on (default: api.host, 127.0.0.1)')
    .action(async (opts: { port?: string; host?: string }) => {
      const c = ctx();
      const port = opts.port === undefined ? c.config.api.port : parseWholeNumber('--port', opts.port, 0, 65535);
      const db = await openContextDb(c, { readOnly: true });
      const api = await (await apiServer()).startApi(db, { ...c.config.api, port, host: opts.host ?? c.config.api.host }, c.log);
      process.stdout.write(`${api.url}\n`);
      const controller = new AbortController();
      await untilSignal(controller, c);
      await api.close();
      await db.destroy();
      setExitCode(0);
    });

  program
    .command('settle')
    .description("publish a month's settlement prices (the mean of its daily fixings, METHODOLOGY.md), signed, once its cut-off has passed")
    .requiredOption('--month <YYYY-MM>', 'the month to settle')
    .option('--series <code...>', 'only these series (default: every series with a fixing in the month)')
    .option('--dry-run', 'compute and print, storing nothing')
    .action(async (opts: { month: string; series?: string[]; dryRun?: boolean }) => {
      const month = parseMonth('--month', opts.month);
      const c = ctx();
      const db = await openContextDb(c);
      try {
        const { settleMonth } = await import('../fixer/settle.js');
        const outcomes = await settleMonth(
          { db, clock: Date.now, log: c.log, signer: contextSigner(c) },
          { month, ...(opts.series ? { series: opts.series } : {}), ...(opts.dryRun ? { dryRun: true } : {}) },
        );
        for (const o of outcomes) {
          const head = `${o.series.padEnd(26)} ${o.action === 'would_publish' ? '  (dry run)' : `revision ${o.revision}`}  `;
          process.stdout.write(`${head}${o.action === 'unchanged' ? 'unchanged' : `${o.status.padEnd(13)} ${o.value ?? '-'}`}\n`);
        }
        setExitCode(0);
      } finally {
        await db.destroy();
      }
    });

  program
    .command('fix')
    .description('compute and publish the fixings of a UTC date')
    .requiredOption('--date <YYYY-MM-DD>', 'UTC date to fix')
    .option('--series <code...>', 'only these series (default: all)')
    .option('--restate', 'publish a new revision where the inputs differ from the published one')
    .option('--reason <text>', 'why the restatement is made (required with --restate)')
    .option('--dry-run', 'compute and print what would be published, storing nothing')
    .option('--methodology <version>', 'an explicit methodology version (needed for a date before every effective date)')
    .action(async (opts: { date: string; series?: string[]; restate?: boolean; reason?: string; dryRun?: boolean; methodology?: string }) => {
      const date = parseDate('--date', opts.date);
      if (opts.restate && !opts.reason?.trim()) throw new UsageError('--restate needs --reason "why the fixing is corrected"');
      if (!opts.restate && opts.reason) throw new UsageError('--reason is only used with --restate');
      const c = ctx();
      if (opts.methodology) loadMethodology(opts.methodology); // an unknown version is a usage error before any work
      const db = await openContextDb(c);
      try {
        const { fixDate } = await import('../fixer/index.js');
        const outcomes = await fixDate(
          { db, clock: Date.now, log: c.log, signer: contextSigner(c), publicationDelayMs: c.config.fixing.publication_delay_minutes * 60_000 },
          {
            date,
            ...(opts.series ? { series: opts.series } : {}),
            ...(opts.restate ? { restate: { reason: opts.reason!.trim() } } : {}),
            ...(opts.dryRun ? { dryRun: true } : {}),
            ...(opts.methodology ? { methodologyVersion: opts.methodology } : {}),
          },
        );
        printFixOutcomes(outcomes);
        setExitCode(outcomes.some((o) => o.action === 'needs_restatement') ? 1 : 0);
      } finally {
        await db.destroy();
      }
    });

  registerAuditCommands(program, ctx, setExitCode);
  registerKeyCommands(program, ctx, setExitCode);
  registerDemoCommands(program, ctx, setExitCode, (c) => untilSignal(new AbortController(), c));

  program
    .command('methodology')
    .description('print the methodology version and its parameters')
    .option('--json', 'machine-readable: the full parameter and taxonomy document with its hash')
    .option('--version <x.y.z>', 'a specific methodology version (default: the latest)')
    .option('--markdown', 'the generated parameter and class tables of METHODOLOGY.md')
    .action((opts: { json?: boolean; version?: string; markdown?: boolean }) => {
      const m = loadMethodology(opts.version);
      if (opts.markdown) {
        process.stdout.write(`${methodologyTables(m)}\n`);
        return;
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...m, parameter_hash: parameterHash(m) }, null, 2)}\n`);
        return;
      }
      const p = m.parameters;
      process.stdout.write(
        `GPUIDX methodology ${m.version} (effective ${m.effective_from}), parameter hash ${parameterHash(m)}\n` +
          Object.entries(p)
            .map(([k, v]) => `  ${k.padEnd(22)} ${JSON.stringify(v)}`)
            .join('\n') +
          `\n  ${m.classes.length} GPU classes; series: ${seriesCatalog(m).length}. Full text: methodology/METHODOLOGY.md\n`,
      );
    });

  program
    .command('import')
    .description('import a JSON Lines file of snapshots (one snapshot per line) as raw snapshots')
    .argument('<file>', 'JSON Lines file')
    .action(async (file: string) => {
      const c = ctx();
      const db = await openContextDb(c);
      const { importFile } = await import('../collectors/import.js');
      const s = await importFile({ db, clock: Date.now, log: c.log, redactor: c.redactor }, file);
      await db.destroy();
      process.stdout.write(
        `${file}: ${s.lines} line(s), ${s.snapshots} snapshot(s) stored, ${s.duplicates} already stored, ` +
          `${s.observations} observation(s), ${s.partial} partial, ${s.rejected} rejected\n`,
      );
      setExitCode(s.rejected > 0 ? 1 : 0);
    });

  program
    .command('venues')
    .description('list the venues, their schedules and whether their API keys are set')
    .option('--unmapped', 'the raw GPU names in the database that map to no class of the methodology in force, most frequent first')
    .action(async (opts: { unmapped?: boolean }) => {
      const c = ctx();
      if (opts.unmapped) {
        const db = await openContextDb(c, { readOnly: true });
        try {
          const { methodologyFor } = await import('../fixer/index.js');
          const { rawGpuNames } = await storage();
          const m = methodologyFor(new Date().toISOString().slice(0, 10)) ?? loadMethodology();
          const lines = unclassedNames(m, await rawGpuNames(db));
          if (lines.length === 0) process.stdout.write(`every raw GPU name maps to a class of methodology ${m.version}\n`);
          for (const r of lines) {
            const memory = r.reason === 'unmapped_gpu' ? '' : ` ${r.memory === null ? 'no memory reported' : `${r.memory} GB`}: ${r.reason}`;
            process.stdout.write(
              `${String(r.n).padStart(9)}  ${r.venue.padEnd(11)} ${JSON.stringify(r.raw)}${memory}  last seen ${new Date(r.lastSeen).toISOString()}\n`,
            );
          }
          setExitCode(0);
        } finally {
          await db.destroy();
        }
        return;
      }
      for (const name of VENUE_NAMES) {
        const a = getVenue(name);
        const v = c.config.venues[name];
        const key = a.apiKeyEnv ? `${a.apiKeyEnv} ${c.env[a.apiKeyEnv] ? 'set' : 'not set'}${a.keyRequired ? '' : ' (optional)'}` : 'no key needed';
        process.stdout.write(`${name.padEnd(11)} ${v.enabled ? 'enabled ' : 'disabled'} "${v.schedule}"  ${key}\n`);
      }
    });

  return program;
}

/**
 * An expected condition, as one line and its documented exit code; undefined for a fault. The error classes of
 * the lazily loaded layers are imported here, after the fact: a module that threw one is loaded already.
 */
async function expectedFailure(err: unknown): Promise<{ message: string; code: number } | undefined> {
  // The CLI's own usage errors need none of the lazily loaded layers: a mistyped flag answers at once.
  if (err instanceof ConfigError || err instanceof UsageError || err instanceof UnknownMethodologyError) return { message: err.message, code: EXIT.usage };
  const [
    { DatabaseBusyError, DatabaseNotFoundError, DatabaseUnavailableError, isBusyError, MigrationError },
    { PublicationRefusedError, UnknownSeriesError },
    { SigningKeyError },
  ] = await Promise.all([storage(), import('../fixer/index.js'), import('../signing/registry.js')]);
  if (err instanceof DatabaseUnavailableError) return { message: err.message, code: EXIT.unavailable };
  if (err instanceof MigrationError || err instanceof UnknownSeriesError || err instanceof DatabaseNotFoundError)
    return { message: err.message, code: EXIT.usage };
  if (err instanceof DatabaseBusyError) return { message: err.message, code: EXIT.busy };
  if (isBusyError(err)) return { message: new DatabaseBusyError(undefined, err).message, code: EXIT.busy };
  if (err instanceof PublicationRefusedError) return { message: `refused: ${err.message}`, code: EXIT.refused };
  if (err instanceof SigningKeyError) return { message: err.message, code: EXIT.key };
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const expected = await expectedFailure(err);
    if (expected) {
      process.stderr.write(`gpuidx: ${expected.message}\n`);
      return expected.code;
    }
    process.stderr.write(`gpuidx: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.unexpected;
  }
}
