// Multi-row INSERTs for the hot paths (observations per snapshot, audit rows per fixing). Kysely builds a query
// tree per INSERT, which dominates at thousands of rows; here the statement for n rows is compiled by Kysely once
// per database and table and reused with fresh parameters: same SQL, any dialect.
import { CompiledQuery, type Kysely } from 'kysely';
import type { Db } from './db.js';
import type { Database } from './schema.js';

const compiled = new WeakMap<Db, Map<string, string>>();

function insertSql(db: Db, table: keyof Database, columns: readonly string[], rows: number): string {
  let cache = compiled.get(db);
  if (!cache) compiled.set(db, (cache = new Map()));
  const key = `${table}|${columns.join(',')}|${rows}`;
  let text = cache.get(key);
  if (text === undefined) {
    const placeholder = Object.fromEntries(columns.map((c) => [c, null]));
    text = db
      .insertInto(table)
      .values(Array.from({ length: rows }, () => placeholder) as never)
      .compile().sql;
    cache.set(key, text);
  }
  return text;
}

/**
 * Inserts `rows` into `table` in chunks of `chunk` rows through `executor` (a transaction, usually). `push` appends
 * one row's parameters in `columns` order.
 */
export async function insertChunked<R>(
  executor: Kysely<Database>,
  db: Db,
  table: keyof Database,
  columns: readonly string[],
  rows: readonly R[],
  chunk: number,
  push: (params: unknown[], row: R) => void,
): Promise<void> {
  await insertIndexed(executor, db, table, columns, rows.length, chunk, (params, i) => push(params, rows[i]!));
}

/** `insertChunked` over rows 0..count-1 that the caller holds in its own form (columns, for instance). */
export async function insertIndexed(
  executor: Kysely<Database>,
  db: Db,
  table: keyof Database,
  columns: readonly string[],
  count: number,
  chunk: number,
  push: (params: unknown[], index: number) => void,
): Promise<void> {
  for (let i = 0; i < count; i += chunk) {
    const end = Math.min(i + chunk, count);
    const params: unknown[] = [];
    for (let k = i; k < end; k++) push(params, k);
    await executor.executeQuery(CompiledQuery.raw(insertSql(db, table, columns, end - i), params));
  }
}
