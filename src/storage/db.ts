// Opens the embedded SQLite database behind Kysely (WAL, busy timeout) and brings its schema up to date.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';
import { migrateToLatest } from './migrate.js';
import { cachingDatabase } from './statement-cache.js';

export const DEFAULT_DB_PATH = './data/gpuidx.db';

export type Db = Kysely<Database>;

export interface OpenOptions {
  /** Run pending migrations (default true). */
  migrate?: boolean;
  busyTimeoutMs?: number;
}

export async function openDatabase(path: string, options: OpenOptions = {}): Promise<Db> {
  const file = resolve(path);
  mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SqliteDatabase(file);
  // WAL lets the API read while a collector writes; busy_timeout rides out a concurrent writer.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingDatabase(sqlite) }) });
  if (options.migrate !== false) await migrateToLatest(db);
  return db;
}
