// Ed25519 signing of published fixings. The private key comes from configuration or is generated on first start
// and kept beside the database (mode 0600). Ed25519 signatures are deterministic, so a fixing signed today and
// again next year with the same key carries the same bytes.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Signer {
  keyId: string;
  /** The public key, SPKI PEM. */
  publicKeyPem: string;
  sign(payload: string): string;
}

export interface FixingSignature {
  algorithm: 'Ed25519';
  key_id: string;
  /** Base64 Ed25519 signature over the UTF-8 bytes of `payload`. */
  value: string;
  /** The exact canonical JSON that was signed: the fixing's fields, keys sorted, no whitespace. */
  payload: string;
}

/** Key id: the first 16 hex digits of the sha256 of the public key's DER (SPKI) bytes. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

export function signerFromPrivateKey(privateKey: KeyObject): Signer {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`signing key must be Ed25519, got ${privateKey.asymmetricKeyType}`);
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (payload) => sign(null, Buffer.from(payload, 'utf8'), privateKey).toString('base64'),
  };
}

/** Reads the PKCS#8 PEM key at `path`, creating it (0600) when absent. */
export function loadOrCreateSigner(path: string): { signer: Signer; created: boolean } {
  if (existsSync(path)) return { signer: signerFromPrivateKey(createPrivateKey(readFileSync(path))), created: false };
  const { privateKey } = generateKeyPairSync('ed25519');
  mkdirSync(dirname(path), { recursive: true });
  // Written whole under another name, then linked into place: two processes starting at once never see half a
  // key, and the one that loses the race uses the winner's key.
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  chmodSync(temp, 0o600); // in case the umask widened it
  try {
    linkSync(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { signer: signerFromPrivateKey(createPrivateKey(readFileSync(path))), created: false };
  } finally {
    unlinkSync(temp);
  }
  return { signer: signerFromPrivateKey(privateKey), created: true };
}

/** The signing key file kept beside a database file. */
export function defaultKeyPath(dbPath: string): string {
  return `${dbPath}.signing-key.pem`;
}

export function signPayload(signer: Signer, payload: string): FixingSignature {
  return { algorithm: 'Ed25519', key_id: signer.keyId, value: signer.sign(payload), payload };
}

/** Verification as an exchange would do it: the public key PEM, the signed payload, the base64 signature. */
export function verifyPayload(publicKeyPem: string, payload: string, signatureBase64: string): boolean {
  return verify(null, Buffer.from(payload, 'utf8'), createPublicKey(publicKeyPem), Buffer.from(signatureBase64, 'base64'));
}

/** The full sha256 of the public key's DER (SPKI) bytes, hex; its first 16 digits are the key id. */
export function fingerprintOf(publicKeyPem: string): string {
  return createHash('sha256')
    .update(createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' }))
    .digest('hex');
}
