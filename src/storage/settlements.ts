// Repository for monthly settlement prices and the daily revisions they are computed from.
import type { Db } from './db.js';
import { nextId } from './ids.js';
import type { Settlement } from './schema.js';

/** Every revision of every date of a month of one series (what the settlement rule chooses from), date order. */
export async function monthRevisions(
  db: Db,
  series: string,
  month: string,
): Promise<{ date: string; revision: number; status: string; value: number | null; computed_at: number; record: string }[]> {
  return db
    .selectFrom('fixings')
    .select(['date', 'revision', 'status', 'value', 'computed_at', 'record'])
    .where('series', '=', series)
    .where('date', '>=', `${month}-01`)
    .where('date', '<=', `${month}-31`)
    .orderBy('date')
    .orderBy('revision')
    .execute();
}

/** The series with at least one fixing in the month. */
export async function seriesOfMonth(db: Db, month: string): Promise<string[]> {
  const rows = await db
    .selectFrom('fixings')
    .select('series')
    .distinct()
    .where('date', '>=', `${month}-01`)
    .where('date', '<=', `${month}-31`)
    .orderBy('series')
    .execute();
  return rows.map((r) => r.series);
}

/** The latest published settlement of a series and month. */
export async function latestSettlement(db: Db, series: string, month: string): Promise<Settlement | undefined> {
  return db
    .selectFrom('settlements')
    .selectAll()
    .where('series', '=', series)
    .where('month', '=', month)
    .orderBy('revision', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function insertSettlement(trx: Db, row: Omit<Settlement, 'id'>): Promise<number> {
  const id = await nextId(trx, 'settlements');
  await trx
    .insertInto('settlements')
    .values({ id, ...row })
    .execute();
  return id;
}

export async function allSettlements(db: Db): Promise<Settlement[]> {
  return db.selectFrom('settlements').selectAll().orderBy('id').execute();
}

/** Whether any settlement of the month is published. */
export async function monthSettled(db: Db, month: string): Promise<boolean> {
  return (await db.selectFrom('settlements').select('id').where('month', '=', month).limit(1).executeTakeFirst()) !== undefined;
}
