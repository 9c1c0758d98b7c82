// Opens the embedded SQLite database behind Kysely (WAL, busy timeout, write transactions that lock up front) and
// brings its schema up to date.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, SqliteDriver, sql, type DatabaseConnection, type Driver } from 'kysely';
import type { Database } from './schema.js';
import { migrateToLatest } from './migrate.js';
import { cachingDatabase } from './statement-cache.js';

export { DEFAULT_DB_PATH } from './defaults.js';

export type Db = Kysely<Database>;

export interface OpenOptions {
  /** Run pending migrations (default true). */
  migrate?: boolean;
  /** How long a writer waits for another process's write lock before giving up (default 30 s). */
  busyTimeoutMs?: number;
  /** Refuse a path that holds no database instead of creating an empty one (read-only commands). */
  mustExist?: boolean;
}

/** The database file named does not exist; a read-only command never creates one. */
export class DatabaseNotFoundError extends Error {
  constructor(readonly path: string) {
    super(`no database at ${path}: check --db / GPUIDX_DB (this command never creates one)`);
    this.name = 'DatabaseNotFoundError';
  }
}

/** Another process held the write lock for longer than the busy timeout. */
export class DatabaseBusyError extends Error {
  constructor(
    readonly path: string | undefined,
    cause: unknown,
  ) {
    super(`the database${path ? ` ${path}` : ''} is locked by another gpuidx process (waited past the busy timeout); try again when it has finished`, {
      cause,
    });
    this.name = 'DatabaseBusyError';
  }
}

/** True for SQLite's "database is locked / busy" family of errors. */
export function isBusyError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * Every gpuidx transaction writes, so each one takes the write lock when it begins (`BEGIN IMMEDIATE`), waiting
 * out the busy timeout. A deferred `BEGIN` would read first and then fail to upgrade with SQLITE_BUSY_SNAPSHOT
 * when another process committed in between, which the busy timeout cannot ride out.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0];
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

export async function openDatabase(path: string, options: OpenOptions = {}): Promise<Db> {
  const file = resolve(path);
  if (options.mustExist && !existsSync(file)) throw new DatabaseNotFoundError(path);
  mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SqliteDatabase(file, options.mustExist ? { fileMustExist: true } : {});
  // WAL lets the API read while a collector writes; busy_timeout rides out a concurrent writer.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 30_000}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: cachingDatabase(sqlite) }) });
  if (options.migrate !== false) {
    try {
      await migrateToLatest(db);
    } catch (err) {
      await db.destroy();
      throw err;
    }
  }
  return db;
}

/**
 * Rewrites the database file so that the pages freed by deletions and dropped columns return to the disk (SQLite
 * keeps them for reuse otherwise). Needs the write lock and room for a copy of the file; returns the sizes.
 */
export async function vacuum(db: Db, path: string): Promise<{ before: number; after: number }> {
  const size = () => statSync(resolve(path)).size;
  await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
  const before = size();
  await sql`VACUUM`.execute(db);
  await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
  return { before, after: size() };
}
