// Builds what every command needs from flags and environment: configuration, database, logger and collector dependencies.
import { apiKeyValues, envSchema, loadConfig, type Config } from '../config/index.js';
import { createRedactor, type Redactor } from '../collectors/redact.js';
import { createDispatcher, globalFetch } from '../collectors/http.js';
import { realSleep, type CollectorDeps } from '../collectors/runner.js';
import { createLogger, type Logger } from '../log/index.js';
import { DEFAULT_DB_PATH, openDatabase, type Db } from '../storage/index.js';

export interface GlobalOptions {
  db?: string;
  config?: string;
}

export interface Context {
  config: Config;
  dbPath: string;
  env: Record<string, string | undefined>;
  redactor: Redactor;
  log: Logger;
}

export function createContext(opts: GlobalOptions, env: Record<string, string | undefined> = process.env): Context {
  const parsedEnv = envSchema.parse(env);
  const config = loadConfig(opts.config ?? parsedEnv.GPUIDX_CONFIG);
  const redactor = createRedactor(apiKeyValues(env));
  return {
    config,
    dbPath: opts.db ?? parsedEnv.GPUIDX_DB ?? DEFAULT_DB_PATH,
    env,
    redactor,
    log: createLogger({ redact: redactor.text }),
  };
}

export async function openContextDb(ctx: Context): Promise<Db> {
  return openDatabase(ctx.dbPath);
}

export function collectorDeps(ctx: Context, db: Db, shutdown?: AbortSignal): CollectorDeps {
  return {
    db,
    fetch: globalFetch,
    dispatcher: createDispatcher(ctx.config.http),
    clock: Date.now,
    sleep: realSleep,
    random: Math.random,
    log: ctx.log,
    redactor: ctx.redactor,
    env: ctx.env,
    ...(shutdown ? { shutdown } : {}),
  };
}
