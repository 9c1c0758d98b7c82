// Ids of the append-only tables are given by gpuidx, not left to the engine: the next id is the largest plus one,
// read inside the write transaction (which holds the write lock on either database). That is SQLite's own rowid
// rule; PostgreSQL's sequences would leave a gap at every rolled-back insert (a publisher killed mid-run), a gap
// in fixing ids reads as removed revisions, and ids that differ between the engines would make the same inputs
// give different audit rows.
import type { Db } from './db.js';

type IdTable = 'snapshots' | 'snapshot_issues' | 'fixings' | 'chain_heads' | 'settlements';

export async function nextId(trx: Db, table: IdTable): Promise<number> {
  const r = await trx
    .selectFrom(table as 'fixings')
    .select((eb) => eb.fn.max('id').as('newest'))
    .executeTakeFirst();
  return Number(r?.newest ?? 0) + 1;
}
