// What a fixing needs to be replayed exactly and to be tamper-evident: the parser versions it read, the newest
// snapshot id its inputs could include, and the hash of the previously published revision (a hash chain).
import type { Kysely } from 'kysely';
import { columnTypes } from '../dialect.js';

export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  await db.schema
    .alterTable('fixings')
    .addColumn('parser_versions', t.text, (c) => c.notNull().defaultTo('[]'))
    .execute();
  await db.schema.alterTable('fixings').addColumn('inputs_through_snapshot', t.integer).execute();
  await db.schema.alterTable('fixings').addColumn('previous_chain_hash', t.text).execute();
}

export async function down(): Promise<void> {
  throw new Error('published fixings are never altered backwards: the audit trail is kept');
}
