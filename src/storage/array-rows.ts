// Rows as arrays for the reads that move millions of rows (a fixing's observations): better-sqlite3 builds an object
// per row otherwise, which costs about three times the read itself. The query is still built and run by Kysely;
// a marker at the head of its SQL asks the SQLite statement cache (statement-cache.ts) for array rows. PostgreSQL's
// driver returns objects, which are turned into arrays in select order here.
import { CompiledQuery, type Compilable } from 'kysely';
import type { Db } from './db.js';

/** The head of a statement whose rows come back as arrays, in select order. */
export const ARRAY_ROWS_MARKER = '/* gpuidx: array rows */ ';

/** Runs `query` and returns each row as an array of its values in select order; `T` names them. */
export async function arrayRows<T extends readonly unknown[]>(db: Db, query: Compilable): Promise<T[]> {
  const { sql, parameters } = query.compile();
  const { rows } = await db.executeQuery<unknown>(CompiledQuery.raw(`${ARRAY_ROWS_MARKER}${sql}`, [...parameters]));
  if (rows.length === 0 || Array.isArray(rows[0])) return rows as T[];
  // pg builds each row object in field order (the aliases here are never integer-like, so key order is select order).
  return rows.map((r) => Object.values(r as Record<string, unknown>) as unknown as T);
}
