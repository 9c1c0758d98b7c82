// Trust under faults and attack: content identity and receipt time of snapshots, signatures stored at publication,
// the registry of signing keys, and signed chain heads. Frozen: never edit, add a new one.
import { sql, type Kysely } from 'kysely';
import { columnTypes, createRefusalTrigger, dialectOf } from '../dialect.js';

export async function up(db: Kysely<any>): Promise<void> {
  const t = columnTypes(db);
  // sha256 of the body's canonical content (BOM, line endings and JSON whitespace removed), so the same snapshot
  // re-imported with other line endings is recognised as stored; received_at is our clock when it was stored.
  await db.schema.alterTable('snapshots').addColumn('content_sha256', t.text).execute();
  await db.schema.alterTable('snapshots').addColumn('received_at', t.integer).execute();
  await db.schema.createIndex('snapshots_content_identity').unique().on('snapshots').columns(['venue', 'fetched_at', 'content_sha256']).execute();
  const postgres = dialectOf(db) === 'postgres';
  if (postgres) {
    await createRefusalTrigger(db, {
      name: 'snapshots_identity_once',
      table: 'snapshots',
      on: 'UPDATE',
      columns: ['content_sha256', 'received_at'],
      when: 'OLD.content_sha256 IS NOT NULL',
      message: 'snapshots are append-only: the content identity is already recorded',
    });
  } else {
    await sql`CREATE TRIGGER snapshots_identity_once BEFORE UPDATE OF content_sha256, received_at ON snapshots
    WHEN OLD.content_sha256 IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'snapshots are append-only: the content identity is already recorded'); END`.execute(db);
  }

  // The signature made when the revision was published (base64 Ed25519 over its canonical published document).
  await db.schema.alterTable('fixings').addColumn('key_id', t.text).execute();
  await db.schema.alterTable('fixings').addColumn('signature', t.text).execute();

  await db.schema
    .createTable('signing_keys')
    .addColumn('key_id', t.text, (c) => c.primaryKey())
    .addColumn('public_key_pem', t.text, (c) => c.notNull())
    .addColumn('valid_from', t.integer, (c) => c.notNull())
    .addColumn('valid_to', t.integer)
    .execute();
  if (postgres) {
    await createRefusalTrigger(db, { name: 'signing_keys_no_delete', table: 'signing_keys', on: 'DELETE', message: 'signing keys are kept: DELETE refused' });
    await createRefusalTrigger(db, {
      name: 'signing_keys_retire_once',
      table: 'signing_keys',
      on: 'UPDATE',
      when: 'OLD.valid_to IS NOT NULL OR NEW.key_id <> OLD.key_id OR NEW.public_key_pem <> OLD.public_key_pem OR NEW.valid_from <> OLD.valid_from',
      message: 'signing keys are kept: only retiring an active key is allowed',
    });
  } else {
    await sql`CREATE TRIGGER signing_keys_no_delete BEFORE DELETE ON signing_keys
    BEGIN SELECT RAISE(ABORT, 'signing keys are kept: DELETE refused'); END`.execute(db);
    await sql`CREATE TRIGGER signing_keys_retire_once BEFORE UPDATE ON signing_keys
    WHEN OLD.valid_to IS NOT NULL OR NEW.key_id <> OLD.key_id OR NEW.public_key_pem <> OLD.public_key_pem OR NEW.valid_from <> OLD.valid_from
    BEGIN SELECT RAISE(ABORT, 'signing keys are kept: only retiring an active key is allowed'); END`.execute(db);
  }

  // After each publication run: the hash of the newest published revision, signed.
  await db.schema
    .createTable('chain_heads')
    .addColumn('id', t.integer, t.id)
    .addColumn('fixing_id', t.integer, (c) => c.notNull())
    .addColumn('chain_hash', t.text, (c) => c.notNull())
    .addColumn('payload', t.text, (c) => c.notNull())
    .addColumn('key_id', t.text, (c) => c.notNull())
    .addColumn('signature', t.text, (c) => c.notNull())
    .addColumn('created_at', t.integer, (c) => c.notNull())
    .execute();
  if (postgres) {
    await createRefusalTrigger(db, {
      name: 'chain_heads_no_update',
      table: 'chain_heads',
      on: 'UPDATE',
      message: 'chain heads are append-only: UPDATE refused',
    });
    await createRefusalTrigger(db, {
      name: 'chain_heads_no_delete',
      table: 'chain_heads',
      on: 'DELETE',
      message: 'chain heads are append-only: DELETE refused',
    });
    return;
  }
  await sql`CREATE TRIGGER chain_heads_no_update BEFORE UPDATE ON chain_heads
    BEGIN SELECT RAISE(ABORT, 'chain heads are append-only: UPDATE refused'); END`.execute(db);
  await sql`CREATE TRIGGER chain_heads_no_delete BEFORE DELETE ON chain_heads
    BEGIN SELECT RAISE(ABORT, 'chain heads are append-only: DELETE refused'); END`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('the trust tables are never dropped: the audit trail is kept');
}
