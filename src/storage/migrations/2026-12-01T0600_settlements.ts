// Monthly settlement prices, signed when published: append-only like the fixings they average. Frozen: never edit,
// add a new one.
import { sql, type Kysely } from 'kysely';
import { columnTypes, createRefusalTrigger, dialectOf } from '../dialect.js';

export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema
    .createTable('settlements')
    .addColumn('id', t.integer, t.id)
    .addColumn('series', t.text, (c) => c.notNull())
    .addColumn('month', t.text, (c) => c.notNull())
    .addColumn('revision', t.integer, (c) => c.notNull())
    .addColumn('status', t.text, (c) => c.notNull())
    .addColumn('value', t.real)
    /** The canonical JSON that is signed: the settlement record with the signing key's id. */
    .addColumn('record', t.text, (c) => c.notNull())
    .addColumn('key_id', t.text, (c) => c.notNull())
    .addColumn('signature', t.text, (c) => c.notNull())
    .addColumn('computed_at', t.integer, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('settlements_identity').unique().on('settlements').columns(['series', 'month', 'revision']).execute();
  if (dialectOf(db) === 'postgres') {
    await createRefusalTrigger(db, {
      name: 'settlements_no_update',
      table: 'settlements',
      on: 'UPDATE',
      message: 'settlements are append-only: UPDATE refused',
    });
    await createRefusalTrigger(db, {
      name: 'settlements_no_delete',
      table: 'settlements',
      on: 'DELETE',
      message: 'settlements are append-only: DELETE refused',
    });
    return;
  }
  await sql`CREATE TRIGGER settlements_no_update BEFORE UPDATE ON settlements
    BEGIN SELECT RAISE(ABORT, 'settlements are append-only: UPDATE refused'); END`.execute(db);
  await sql`CREATE TRIGGER settlements_no_delete BEFORE DELETE ON settlements
    BEGIN SELECT RAISE(ABORT, 'settlements are append-only: DELETE refused'); END`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('published settlements are never dropped: the audit trail is kept');
}
