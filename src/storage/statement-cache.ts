// A prepared-statement cache in front of better-sqlite3, behind Kysely's narrow `SqliteDatabase` interface.
// Kysely's SQLite driver prepares every query anew; a bulk insert of many identical chunks pays that each
// time. Reusing the statement for the same SQL text removes that cost without leaving Kysely.
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

const MAX_CACHED = 200;

export function cachingDatabase(db: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      const hit = cache.get(sql);
      // A statement still being iterated (a streamed query) cannot be reused; prepare a fresh one for this call.
      if (hit && !hit.busy) return hit;
      const stmt = db.prepare(sql);
      if (!hit) {
        if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}
