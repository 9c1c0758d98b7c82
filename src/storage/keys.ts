// Repository for the signing-key registry (which key signed in which period) and the signed chain heads.
import type { Db } from './db.js';
import { nextId } from './ids.js';
import type { ChainHead, SigningKey } from './schema.js';

export async function signingKeys(db: Db): Promise<SigningKey[]> {
  return db.selectFrom('signing_keys').selectAll().orderBy('valid_from').orderBy('key_id').execute();
}

/** The key that signs now: the one registered without an end of validity. */
export async function activeSigningKey(db: Db): Promise<SigningKey | undefined> {
  return db.selectFrom('signing_keys').selectAll().where('valid_to', 'is', null).orderBy('valid_from', 'desc').limit(1).executeTakeFirst();
}

export async function registerSigningKey(db: Db, key: { keyId: string; publicKeyPem: string; validFrom: number }): Promise<void> {
  await db.insertInto('signing_keys').values({ key_id: key.keyId, public_key_pem: key.publicKeyPem, valid_from: key.validFrom, valid_to: null }).execute();
}

export async function retireSigningKey(db: Db, keyId: string, validTo: number): Promise<void> {
  await db.updateTable('signing_keys').set({ valid_to: validTo }).where('key_id', '=', keyId).where('valid_to', 'is', null).execute();
}

export async function insertChainHead(db: Db, head: Omit<ChainHead, 'id'>): Promise<number> {
  const { id } = await db
    .insertInto('chain_heads')
    .values({ id: await nextId(db, 'chain_heads'), ...head })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

export async function latestChainHead(db: Db): Promise<ChainHead | undefined> {
  return db.selectFrom('chain_heads').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirst();
}

export async function allChainHeads(db: Db): Promise<ChainHead[]> {
  return db.selectFrom('chain_heads').selectAll().orderBy('id').execute();
}

/** The newest published revision (the chain's current end). */
export async function lastFixing(db: Db) {
  return db.selectFrom('fixings').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirst();
}
