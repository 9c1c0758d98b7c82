// The signed chain head: after each publication run, the hash of the newest published revision (the link the next
// one will carry) with the count of revisions, signed. An exchange that keeps the heads it saw can later prove with
// `gpuidx verify --head HASH` that nothing published up to that head was rewritten, removed or inserted.
import { canonicalJson } from '../methodology/canonical.js';
import type { Signer } from '../signing/index.js';
import { insertChainHead, type ChainHead, type Db, type Fixing } from '../storage/index.js';
import { chainHash, publishedFixing } from './published.js';

export const CHAIN_HEAD_FORMAT = 'gpuidx-chain-head/1';

export interface ChainHeadDocument {
  format: typeof CHAIN_HEAD_FORMAT;
  /** sha256 of the canonical published document of the newest revision. */
  chain_hash: string;
  fixing_id: number;
  series: string;
  date: string;
  revision: number;
  /** Revisions published up to and including this one. */
  revisions: number;
  published_at: string;
  key_id: string;
}

export async function publishChainHead(db: Db, signer: Signer, newest: Fixing, now: number): Promise<ChainHead> {
  const counted = await db
    .selectFrom('fixings')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('id', '<=', newest.id)
    .executeTakeFirstOrThrow();
  const doc: ChainHeadDocument = {
    format: CHAIN_HEAD_FORMAT,
    chain_hash: chainHash(publishedFixing(newest)),
    fixing_id: newest.id,
    series: newest.series,
    date: newest.date,
    revision: newest.revision,
    revisions: Number(counted.n),
    published_at: new Date(now).toISOString(),
    key_id: signer.keyId,
  };
  const payload = canonicalJson(doc);
  const head = { fixing_id: newest.id, chain_hash: doc.chain_hash, payload, key_id: signer.keyId, signature: signer.sign(payload), created_at: now };
  const id = await insertChainHead(db, head);
  return { ...head, id };
}
