// The elected publisher for the takeover test: takes the publisher lease, starts publishing a date, and stops dead
// inside the publication transaction (its signer blocks the thread after the first signature), so that the parent
// can kill -9 it there. Plain JavaScript over the compiled modules (bin/load.mjs), as crash-child.mjs.
import { createPrivateKey } from 'node:crypto';
import { importFromSource } from '../../bin/load.mjs';

const [{ publicationTick, newPublicationState }, { memoryLogger }, { openDatabase, publisherLease }, { signerFromPrivateKey }] = await Promise.all(
  ['fixer/schedule', 'log/index', 'storage/index', 'signing/index'].map(importFromSource),
);

// The same fixed key as test/helpers.ts testSigner(1).
const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 1)]);
const signer = signerFromPrivateKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
let signatures = 0;
const stalling = {
  keyId: signer.keyId,
  publicKeyPem: signer.publicKeyPem,
  sign(payload) {
    if (++signatures === 2) {
      process.stdout.write('inside the publication transaction\n');
      // Blocks this thread for good: the transaction stays open, the lease held, until the kill.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    }
    return signer.sign(payload);
  },
};

const [url, date, now] = process.argv.slice(2);
const db = await openDatabase(url);
const lease = await publisherLease(url);
if (!(await lease.acquire())) throw new Error('the child expected to be elected');
process.stdout.write('elected\n');
const state = newPublicationState();
state.due.add(date);
await publicationTick({ db, clock: () => Number(now), log: memoryLogger(), signer: stalling, lease, publisher: 'child' }, state);
process.stdout.write('finished (the test should have killed it)\n');
