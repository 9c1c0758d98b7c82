// What differs between the two databases gpuidx runs on (embedded SQLite, PostgreSQL), in one place: which one a
// target names, the column types and append-only triggers the migrations create, and how each names its errors.
// Every query stays one Kysely query for both; only DDL and error codes go through here.
import { PostgresAdapter, sql, type ColumnDataType, type ColumnDefinitionBuilder, type Expression, type Kysely } from 'kysely';

type DataTypeExpression = ColumnDataType | Expression<unknown>;

export type DialectName = 'sqlite' | 'postgres';
export { describeTarget, isPostgresTarget } from './target.js';

/** The dialect behind an open database. */
export function dialectOf(db: Kysely<any>): DialectName {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

export interface ColumnTypes {
  text: DataTypeExpression;
  /** Whole numbers: ids, counts, epoch milliseconds (which outgrow 32 bits). */
  integer: DataTypeExpression;
  /** IEEE double: prices and weights must round-trip exactly (PostgreSQL's `real` is single precision). */
  real: DataTypeExpression;
  blob: DataTypeExpression;
  /** The `id` column modifier: the rowid alias on SQLite, an identity column that still accepts given ids on PostgreSQL. */
  id: (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
}

/**
 * Column types per dialect. On SQLite these are exactly the types the first migrations wrote (their DDL text is
 * part of what `verify` compares). On PostgreSQL text sorts bytewise (`COLLATE "C"`, as SQLite's default BINARY
 * collation does), so that every ORDER BY on a text column gives the same order, and hence the same fixings, on
 * both databases whatever the server's locale.
 */
export function columnTypes(db: Kysely<any>): ColumnTypes {
  if (dialectOf(db) === 'sqlite') return { text: 'text', integer: 'integer', real: 'real', blob: 'blob', id: (c) => c.primaryKey() };
  return {
    text: sql`text COLLATE "C"`,
    integer: 'bigint',
    real: 'double precision',
    blob: 'bytea',
    id: (c) => c.primaryKey().generatedByDefaultAsIdentity(),
  };
}

export interface RefusalTrigger {
  name: string;
  table: string;
  /** The statement refused; `UPDATE` may name the columns it guards. */
  on: 'DELETE' | 'UPDATE';
  columns?: readonly string[];
  /** A condition on OLD / NEW (the same expression reads alike in both dialects). */
  when?: string;
  message: string;
}

/**
 * Creates, on PostgreSQL, the trigger that refuses a change with `message` (SQLite migrations keep their own
 * frozen trigger text). One PL/pgSQL function raises for every such trigger; each append-only table also refuses
 * TRUNCATE, which bypasses row triggers.
 */
export async function createRefusalTrigger(db: Kysely<any>, t: RefusalTrigger): Promise<void> {
  await sql`CREATE OR REPLACE FUNCTION gpuidx_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END
$$`.execute(db);
  const event = t.on === 'UPDATE' && t.columns?.length ? `UPDATE OF ${t.columns.join(', ')}` : t.on;
  const when = t.when ? ` WHEN (${t.when})` : '';
  await sql.raw(`CREATE TRIGGER ${t.name} BEFORE ${event} ON ${t.table} FOR EACH ROW${when} EXECUTE FUNCTION gpuidx_refuse(${quote(t.message)})`).execute(db);
  if (t.on === 'DELETE') {
    await sql
      .raw(
        `CREATE TRIGGER ${t.table}_no_truncate BEFORE TRUNCATE ON ${t.table} FOR EACH STATEMENT EXECUTE FUNCTION gpuidx_refuse(${quote(`${t.table} are append-only: TRUNCATE refused`)})`,
      )
      .execute(db);
  }
}

function quote(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
