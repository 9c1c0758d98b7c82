// Migration: published fixings (append-only revisions) and their per-input audit rows. Frozen: never edit, add a new one.
import { sql, type Kysely } from 'kysely';
import { columnTypes, createRefusalTrigger, dialectOf } from '../dialect.js';

export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema
    .createTable('fixings')
    .addColumn('id', t.integer, t.id)
    .addColumn('series', t.text, (c) => c.notNull())
    .addColumn('date', t.text, (c) => c.notNull())
    .addColumn('revision', t.integer, (c) => c.notNull())
    .addColumn('status', t.text, (c) => c.notNull())
    .addColumn('value', t.real)
    .addColumn('carried_from', t.text)
    .addColumn('methodology_version', t.text, (c) => c.notNull())
    .addColumn('parameter_hash', t.text, (c) => c.notNull())
    .addColumn('input_digest', t.text, (c) => c.notNull())
    .addColumn('software_version', t.text, (c) => c.notNull())
    .addColumn('computed_at', t.integer, (c) => c.notNull())
    .addColumn('restatement_reason', t.text)
    .addColumn('previous_input_digest', t.text)
    /** The canonical JSON of the fixing record: the exact bytes that are published and signed. */
    .addColumn('record', t.text, (c) => c.notNull())
    /** Venue shares before and after the cap, and the outlier fences, as JSON. */
    .addColumn('evidence', t.text, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('fixings_identity').unique().on('fixings').columns(['series', 'date', 'revision']).execute();
  await db.schema.createIndex('fixings_date').on('fixings').columns(['date', 'series']).execute();

  await db.schema
    .createTable('fixing_inputs')
    .addColumn('fixing_id', t.integer, (c) => c.notNull().references('fixings.id'))
    .addColumn('observation_id', t.integer, (c) => c.notNull())
    .addColumn('snapshot_id', t.integer, (c) => c.notNull())
    .addColumn('class', t.text)
    .addColumn('reason', t.text)
    .addColumn('p', t.real)
    .addColumn('f', t.real)
    .addColumn('q', t.real)
    .addColumn('w', t.real)
    .addColumn('w_capped', t.real)
    .addPrimaryKeyConstraint('fixing_inputs_pk', ['fixing_id', 'observation_id'])
    .$call((b) => (dialectOf(db) === 'sqlite' ? b.modifyEnd(sql`WITHOUT ROWID`) : b))
    .execute();

  if (dialectOf(db) === 'postgres') {
    await createRefusalTrigger(db, {
      name: 'fixings_no_update',
      table: 'fixings',
      on: 'UPDATE',
      message: 'fixings are append-only: a correction is a new revision',
    });
    await createRefusalTrigger(db, { name: 'fixings_no_delete', table: 'fixings', on: 'DELETE', message: 'fixings are append-only: DELETE refused' });
    await createRefusalTrigger(db, {
      name: 'fixing_inputs_no_update',
      table: 'fixing_inputs',
      on: 'UPDATE',
      message: 'fixing inputs are append-only: UPDATE refused',
    });
    await createRefusalTrigger(db, {
      name: 'fixing_inputs_no_delete',
      table: 'fixing_inputs',
      on: 'DELETE',
      message: 'fixing inputs are append-only: DELETE refused',
    });
    return;
  }

  await sql`CREATE TRIGGER fixings_no_update BEFORE UPDATE ON fixings
    BEGIN SELECT RAISE(ABORT, 'fixings are append-only: a correction is a new revision'); END`.execute(db);
  await sql`CREATE TRIGGER fixings_no_delete BEFORE DELETE ON fixings
    BEGIN SELECT RAISE(ABORT, 'fixings are append-only: DELETE refused'); END`.execute(db);
  await sql`CREATE TRIGGER fixing_inputs_no_update BEFORE UPDATE ON fixing_inputs
    BEGIN SELECT RAISE(ABORT, 'fixing inputs are append-only: UPDATE refused'); END`.execute(db);
  await sql`CREATE TRIGGER fixing_inputs_no_delete BEFORE DELETE ON fixing_inputs
    BEGIN SELECT RAISE(ABORT, 'fixing inputs are append-only: DELETE refused'); END`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('published fixings are never dropped: the audit trail is kept');
}
