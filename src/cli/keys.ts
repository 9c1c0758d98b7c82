// `gpuidx keys`: the signing-key registry: list the keys and their validity, generate a key file, rotate the active key.
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fingerprintOf, signerFromPrivateKey, type Signer } from '../signing/index.js';
import { UsageError } from './args.js';
import { contextKeyPath, openContextDb, storage, type Context } from './context.js';

function writePrivateKey(path: string): Signer {
  if (existsSync(path)) throw new UsageError(`${path} exists; a key file is never overwritten`);
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  const signer = signerFromPrivateKey(privateKey);
  writeFileSync(`${path}.pub`, signer.publicKeyPem, { flag: 'wx' });
  return signer;
}

function readSigner(path: string): Signer {
  try {
    return signerFromPrivateKey(createPrivateKey(readFileSync(path)));
  } catch (err) {
    throw new UsageError(`${path}: not an Ed25519 private key (PKCS#8 PEM): ${(err as Error).message.split('\n')[0]}`);
  }
}

export function registerKeyCommands(program: Command, ctx: () => Context, setExitCode: (code: number) => void): void {
  const keys = program.command('keys').description('the signing keys: list, generate, rotate');

  keys
    .command('list', { isDefault: true })
    .description('every registered key with its fingerprint and validity period')
    .option('--pem', 'print each public key too')
    .action(async (opts: { pem?: boolean }) => {
      const { signingKeys } = await storage();
      const c = ctx();
      const db = await openContextDb(c, { readOnly: true });
      try {
        const rows = await signingKeys(db);
        if (rows.length === 0) process.stdout.write('no signing key registered yet: the first `gpuidx fix` registers the configured key\n');
        for (const k of rows) {
          const until = k.valid_to === null ? 'active' : `until ${new Date(k.valid_to).toISOString()}`;
          process.stdout.write(`${k.key_id}  from ${new Date(k.valid_from).toISOString()}  ${until}  fingerprint ${fingerprintOf(k.public_key_pem)}\n`);
          if (opts.pem) process.stdout.write(k.public_key_pem.endsWith('\n') ? k.public_key_pem : `${k.public_key_pem}\n`);
        }
        setExitCode(0);
      } finally {
        await db.destroy();
      }
    });

  keys
    .command('generate')
    .description('write a new Ed25519 private key (mode 0600) and its public key beside it (FILE.pub)')
    .requiredOption('--out <file>', 'a new file')
    .action((opts: { out: string }) => {
      const signer = writePrivateKey(opts.out);
      process.stdout.write(`${opts.out}: key ${signer.keyId}, fingerprint ${fingerprintOf(signer.publicKeyPem)}; public key in ${opts.out}.pub\n`);
      setExitCode(0);
    });

  keys
    .command('rotate')
    .description('retire the active key now and make another the active one; fixings signed before keep verifying with the old key')
    .option('--key <file>', 'the new private key (default: generate one at the configured key path, keeping the old file as <path>.retired-<key id>)')
    .action(async (opts: { key?: string }) => {
      const { rotateKey } = await import('../signing/registry.js');
      const c = ctx();
      const path = contextKeyPath(c);
      const db = await openContextDb(c);
      try {
        let next: Signer;
        if (opts.key) next = readSigner(opts.key);
        else {
          if (existsSync(path)) {
            const old = readSigner(path);
            renameSync(path, `${path}.retired-${old.keyId}`);
            if (existsSync(`${path}.pub`)) renameSync(`${path}.pub`, `${path}.pub.retired-${old.keyId}`);
          }
          next = writePrivateKey(path);
        }
        const { retired } = await rotateKey(db, next, Date.now());
        process.stdout.write(`active key is now ${next.keyId} (fingerprint ${fingerprintOf(next.publicKeyPem)})${retired ? `; ${retired} retired` : ''}\n`);
        if (opts.key && opts.key !== path) process.stdout.write(`set api.signing_key_file to ${opts.key} so that fix and run sign with it\n`);
        setExitCode(0);
      } finally {
        await db.destroy();
      }
    });
}
