// Publication runs: each attempt to publish a date, by which process, and how it ended, so that a standby can see
// that the elected publisher died mid-run, and health can report the publisher's last run. Frozen: never edit, add
// a new one.
import type { Kysely } from 'kysely';
import { columnTypes } from '../dialect.js';

export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema
    .createTable('publication_runs')
    .addColumn('id', t.integer, t.id)
    .addColumn('date', t.text, (c) => c.notNull())
    /** host:pid of the process that ran it. */
    .addColumn('publisher', t.text, (c) => c.notNull())
    .addColumn('started_at', t.integer, (c) => c.notNull())
    .addColumn('finished_at', t.integer)
    /** running | ok | failed; a run left `running` by a process that died is superseded by the next run of the date. */
    .addColumn('outcome', t.text, (c) => c.notNull())
    .addColumn('published', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('unchanged', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('refused', t.integer, (c) => c.notNull().defaultTo(0))
    .addColumn('error', t.text)
    .execute();
  await db.schema.createIndex('publication_runs_date').on('publication_runs').columns(['date', 'id']).execute();
}

export async function down(): Promise<void> {
  throw new Error('publication runs are kept: they are part of the operating record');
}
