// Migration: published fixings (append-only revisions) and their per-input audit rows. Frozen: never edit, add a new one.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('fixings')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('series', 'text', (c) => c.notNull())
    .addColumn('date', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('value', 'real')
    .addColumn('carried_from', 'text')
    .addColumn('methodology_version', 'text', (c) => c.notNull())
    .addColumn('parameter_hash', 'text', (c) => c.notNull())
    .addColumn('input_digest', 'text', (c) => c.notNull())
    .addColumn('software_version', 'text', (c) => c.notNull())
    .addColumn('computed_at', 'integer', (c) => c.notNull())
    .addColumn('restatement_reason', 'text')
    .addColumn('previous_input_digest', 'text')
    /** The canonical JSON of the fixing record: the exact bytes that are published and signed. */
    .addColumn('record', 'text', (c) => c.notNull())
    /** Venue shares before and after the cap, and the outlier fences, as JSON. */
    .addColumn('evidence', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('fixings_identity').unique().on('fixings').columns(['series', 'date', 'revision']).execute();
  await db.schema.createIndex('fixings_date').on('fixings').columns(['date', 'series']).execute();

  await db.schema
    .createTable('fixing_inputs')
    .addColumn('fixing_id', 'integer', (c) => c.notNull().references('fixings.id'))
    .addColumn('observation_id', 'integer', (c) => c.notNull())
    .addColumn('snapshot_id', 'integer', (c) => c.notNull())
    .addColumn('class', 'text')
    .addColumn('reason', 'text')
    .addColumn('p', 'real')
    .addColumn('f', 'real')
    .addColumn('q', 'real')
    .addColumn('w', 'real')
    .addColumn('w_capped', 'real')
    .addPrimaryKeyConstraint('fixing_inputs_pk', ['fixing_id', 'observation_id'])
    .modifyEnd(sql`WITHOUT ROWID`)
    .execute();

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
