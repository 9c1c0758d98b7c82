// The registry of signing keys kept in the database: which key signs now, which signed in which period, and the
// checks that tie a signature to the key that was valid when it was made.
// fingerprintOf lives with the keys themselves (signing/index.ts): the CLI needs it without the database.
export { fingerprintOf } from './index.js';
import { activeSigningKey, registerSigningKey, retireSigningKey, type Db, type SigningKey } from '../storage/index.js';
import type { Signer } from './index.js';

/** The key file in use is not the key the database says signs now. */
export class SigningKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SigningKeyError';
  }
}

/**
 * Makes sure `signer` is the registered active key, registering it when the database has none yet. Call inside the
 * publication transaction, so a rotation by another process cannot slip between the check and the signature.
 */
export async function ensureActiveKey(db: Db, signer: Signer, now: number): Promise<void> {
  const active = await activeSigningKey(db);
  if (!active) {
    await registerSigningKey(db, { keyId: signer.keyId, publicKeyPem: signer.publicKeyPem, validFrom: now });
    return;
  }
  if (active.key_id !== signer.keyId) {
    throw new SigningKeyError(
      `the signing key in use (${signer.keyId}) is not the database's active key (${active.key_id}): point api.signing_key_file at the active key, or rotate with "gpuidx keys rotate"`,
    );
  }
}

/** Retires the active key at `now` and registers `next` from `now`: fixings signed before keep verifying with the old key. */
export async function rotateKey(db: Db, next: Signer, now: number): Promise<{ retired: string | null }> {
  return db.transaction().execute(async (trx) => {
    const active = await activeSigningKey(trx);
    if (active?.key_id === next.keyId) throw new SigningKeyError(`${next.keyId} is already the active key`);
    if (active) await retireSigningKey(trx, active.key_id, now);
    await registerSigningKey(trx, { keyId: next.keyId, publicKeyPem: next.publicKeyPem, validFrom: now });
    return { retired: active?.key_id ?? null };
  });
}

/** The registered key `keyId` if it was valid at instant `t` (valid_from <= t < valid_to). */
export function keyValidAt(keys: readonly SigningKey[], keyId: string, t: number): SigningKey | undefined {
  return keys.find((k) => k.key_id === keyId && k.valid_from <= t && (k.valid_to === null || t < k.valid_to));
}
