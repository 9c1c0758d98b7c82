// Builds what every command needs from flags and environment: configuration, database, logger and collector dependencies.
import { apiKeyValues, ConfigError, envSchema, loadConfig, type Config } from '../config/index.js';
import { createRedactor, type Redactor } from '../collectors/redact.js';
import { createDispatcher, globalFetch } from '../collectors/http.js';
import type { CollectorDeps } from '../collectors/runner.js';
import { createLogger, type Logger } from '../log/index.js';
import { DEFAULT_DB_PATH } from '../storage/defaults.js';
import { isPostgresTarget } from '../storage/target.js';
import type { Db } from '../storage/index.js';
import { defaultKeyPath, loadOrCreateSigner, type Signer } from '../signing/index.js';

// The database driver, Kysely and everything that stores or reads data load with the first command that opens a
// database: `--help`, `methodology` and `venues` never pay for them (bench/startup).
export const storage = () => import('../storage/index.js');

export interface GlobalOptions {
  db?: string;
  config?: string;
}

export interface Context {
  config: Config;
  /** The database: a SQLite file path, or a postgres:// URL. */
  dbPath: string;
  busyTimeoutMs: number | undefined;
  poolSize: number | undefined;
  /** The signing key file named by the environment, if any (the configuration's wins). */
  signingKeyFile: string | undefined;
  env: Record<string, string | undefined>;
  redactor: Redactor;
  log: Logger;
}

export function createContext(opts: GlobalOptions, env: Record<string, string | undefined> = process.env): Context {
  const envParse = envSchema.safeParse(env);
  if (!envParse.success)
    throw new ConfigError(
      'the environment',
      envParse.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    );
  const parsedEnv = envParse.data;
  const config = loadConfig(opts.config ?? parsedEnv.GPUIDX_CONFIG);
  const redactor = createRedactor(apiKeyValues(env));
  return {
    config,
    dbPath: opts.db ?? parsedEnv.GPUIDX_DB ?? DEFAULT_DB_PATH,
    busyTimeoutMs: parsedEnv.GPUIDX_BUSY_TIMEOUT_MS,
    poolSize: parsedEnv.GPUIDX_PG_POOL_SIZE,
    signingKeyFile: parsedEnv.GPUIDX_SIGNING_KEY_FILE,
    env,
    redactor,
    log: createLogger({ redact: redactor.text }),
  };
}

/**
 * Opens the context's database. Read-only commands (`readOnly`) refuse a path that holds no database rather than
 * create an empty one and report success on it; writers first recover any snapshot an older version left pending.
 */
export async function openContextDb(ctx: Context, options: { readOnly?: boolean } = {}): Promise<Db> {
  const busy = { ...(ctx.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: ctx.busyTimeoutMs }), ...(ctx.poolSize ? { poolSize: ctx.poolSize } : {}) };
  const { openDatabase } = await storage();
  if (options.readOnly) return openDatabase(ctx.dbPath, { mustExist: true, ...busy });
  const db = await openDatabase(ctx.dbPath, busy);
  try {
    const { recoverSnapshots } = await import('../collectors/recover.js');
    const r = await recoverSnapshots(db);
    if (r.reparsed) ctx.log.warn(`recovered ${r.reparsed} snapshot(s) left pending by an interrupted run: parsed from their stored bytes`);
    if (r.duplicates.length)
      ctx.log.warn(`snapshots ${r.duplicates.join(', ')} repeat the content of earlier snapshots (stored twice by an older version); see gpuidx verify`);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

/**
 * Where the publisher's key is: the configured file, else GPUIDX_SIGNING_KEY_FILE, else beside a SQLite database
 * file. A PostgreSQL database has no "beside": every publisher of the deployment (and its standby) must read the
 * same key, so it is named explicitly.
 */
export function contextKeyPath(ctx: Context): string {
  const named = ctx.config.api.signing_key_file ?? ctx.signingKeyFile;
  if (named) return named;
  if (isPostgresTarget(ctx.dbPath))
    throw new ConfigError('the environment', [
      'a PostgreSQL database keeps no signing key beside it: set GPUIDX_SIGNING_KEY_FILE (or api.signing_key_file) to the key file every publisher of this deployment shares',
    ]);
  return defaultKeyPath(ctx.dbPath);
}

/** The publisher's signing key: the named file, or one created there (or beside the database) on first use (mode 0600). */
export function contextSigner(ctx: Context): Signer {
  const path = contextKeyPath(ctx);
  const { signer, created } = loadOrCreateSigner(path);
  if (created) ctx.log.info(`generated an Ed25519 signing key at ${path} (key id ${signer.keyId}); keep it safe and back it up`);
  return signer;
}

/** The API server, loaded by the commands that serve it: the other commands (and --help) never pay for hono. */
export const apiServer = () => import('../api/server.js');

export async function collectorDeps(ctx: Context, db: Db, shutdown?: AbortSignal): Promise<CollectorDeps> {
  const { realSleep } = await import('../collectors/runner.js');
  return {
    db,
    fetch: globalFetch,
    dispatcher: await createDispatcher(ctx.config.http),
    clock: Date.now,
    sleep: realSleep,
    random: Math.random,
    log: ctx.log,
    redactor: ctx.redactor,
    env: ctx.env,
    ...(shutdown ? { shutdown } : {}),
  };
}
