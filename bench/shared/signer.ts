// A fresh Ed25519 key for a benchmark's publications (signatures are part of the measured publication path).
import { generateKeyPairSync } from 'node:crypto';
import { signerFromPrivateKey, type Signer } from '../../src/signing/index.js';

export function benchSigner(): Signer {
  return signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey);
}
