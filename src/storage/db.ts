// Opens the database behind Kysely and brings its schema up to date: the embedded SQLite file (WAL, busy timeout,
// write transactions that lock up front) or, for a postgres:// URL, PostgreSQL through a pg pool whose write
// transactions take one advisory lock, so both databases order writes alike.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  PostgresDriver,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type Driver,
  type TransactionSettings,
} from 'kysely';
import type { Database } from './schema.js';
import { dialectOf } from './dialect.js';
import { describeTarget, isPostgresTarget } from './target.js';
import { migrateToLatest, schemaIsCurrent } from './migrate.js';
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
  /** PostgreSQL only: connections in the pool (default 10). */
  poolSize?: number;
}

/** The database file named does not exist; a read-only command never creates one. */
export class DatabaseNotFoundError extends Error {
  constructor(readonly path: string) {
    super(
      isPostgresTarget(path)
        ? `no gpuidx database at ${describeTarget(path)} (its tables were never created): check --db / GPUIDX_DB, or run gpuidx migrate there first (this command never creates one)`
        : `no database at ${path}: check --db / GPUIDX_DB (this command never creates one)`,
    );
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

/** True for SQLite's "database is locked / busy" family of errors, and PostgreSQL's lock timeout. */
export function isBusyError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || code === '55P03');
}

/** PostgreSQL could not be reached or refused the connection. */
export class DatabaseUnavailableError extends Error {
  constructor(
    readonly target: string,
    cause: unknown,
  ) {
    super(`cannot connect to ${describeTarget(target)}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'DatabaseUnavailableError';
  }
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

/**
 * The advisory lock every PostgreSQL write transaction takes first: the equivalent of SQLite's `BEGIN IMMEDIATE`.
 * It keeps snapshot ids in commit order (a fixing's watermark, "every snapshot up to id N", then means the same
 * set in every later read, as on SQLite) and makes a second publisher of a date wait and find it published.
 */
export const WRITE_LOCK_KEY = 0x67707569; // 'gpui'

class LockingPostgresDriver extends PostgresDriver {
  constructor(
    config: ConstructorParameters<typeof PostgresDriver>[0],
    private readonly lockTimeoutMs: number,
  ) {
    super(config);
  }
  override async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await super.beginTransaction(connection, settings);
    try {
      await connection.executeQuery(CompiledQuery.raw(`set local lock_timeout = ${Math.max(1, Math.trunc(this.lockTimeoutMs))}`));
      await connection.executeQuery(CompiledQuery.raw('select pg_advisory_xact_lock($1)', [WRITE_LOCK_KEY]));
    } catch (err) {
      // Kysely rolls back only a transaction that began; this one began and then waited too long for the lock.
      await connection.executeQuery(CompiledQuery.raw('rollback'));
      throw err;
    }
  }
}

class LockingPostgresDialect extends PostgresDialect {
  constructor(
    private readonly config: ConstructorParameters<typeof PostgresDialect>[0],
    private readonly lockTimeoutMs: number,
  ) {
    super(config);
  }
  override createDriver(): Driver {
    return new LockingPostgresDriver(this.config, this.lockTimeoutMs);
  }
}

export async function openDatabase(target: string, options: OpenOptions = {}): Promise<Db> {
  const db = isPostgresTarget(target) ? await openPostgres(target, options) : openSqlite(target, options);
  // A schema already current is left untouched (one read). On PostgreSQL, where migrations run in a transaction,
  // Kysely's migrator opens a write transaction even when there is nothing to do, so every start of every reader
  // (an API replica, verify) would wait for the write lock behind a running publication.
  if (options.migrate !== false && !(await schemaIsCurrent(db))) {
    try {
      await migrateToLatest(db);
    } catch (err) {
      await db.destroy();
      throw err;
    }
  }
  return db;
}

async function openPostgres(url: string, options: OpenOptions): Promise<Db> {
  const [{ default: pg }, { default: Cursor }] = await Promise.all([import('pg'), import('pg-cursor')]);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // Whole numbers are bigint columns; they come back as numbers, as from SQLite (ids and epoch ms stay far
    // below 2^53). Aggregates over them (sum) are numeric. Everything else keeps pg's parsers.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // A connection dropped by the server while idle in the pool must not crash the process.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new LockingPostgresDialect({ pool, cursor: Cursor }, options.busyTimeoutMs ?? 30_000) });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy();
    throw new DatabaseUnavailableError(url, err);
  }
  if (options.mustExist) {
    const r = await sql<{ t: string | null }>`select to_regclass('kysely_migration')::text as t`.execute(db);
    if (!r.rows[0]?.t) {
      await db.destroy();
      throw new DatabaseNotFoundError(url);
    }
  }
  return db;
}

function openSqlite(path: string, options: OpenOptions): Db {
  const file = resolve(path);
  if (options.mustExist && !existsSync(file)) throw new DatabaseNotFoundError(path);
  mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SqliteDatabase(file, options.mustExist ? { fileMustExist: true } : {});
  // WAL lets the API read while a collector writes; busy_timeout rides out a concurrent writer.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 30_000}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  return new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: cachingDatabase(sqlite) }) });
}

/**
 * Rewrites the database file so that the pages freed by deletions and dropped columns return to the disk (SQLite
 * keeps them for reuse otherwise). Needs the write lock and room for a copy of the file; returns the sizes.
 */
export async function vacuum(db: Db, path: string): Promise<{ before: number; after: number }> {
  if (dialectOf(db) === 'postgres') {
    // PostgreSQL reclaims space itself (autovacuum); a plain VACUUM makes it reusable now, and the size is the server's.
    const size = async () => Number((await sql<{ n: number }>`select pg_database_size(current_database()) as n`.execute(db)).rows[0]!.n);
    const before = await size();
    await sql`VACUUM`.execute(db);
    return { before, after: await size() };
  }
  const size = () => statSync(resolve(path)).size;
  await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
  const before = size();
  await sql`VACUUM`.execute(db);
  await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
  return { before, after: size() };
}
