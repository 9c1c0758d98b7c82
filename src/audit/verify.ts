// `gpuidx verify`: tamper evidence over the whole database. The append-only triggers must be exactly the ones this
// software creates, every stored body must still hash to its recorded sha256, every observation block must decode
// and agree with its row, no snapshot may be stuck pending,
// every published revision must agree with its own record, carry the signature made at its publication (by the key
// valid then, or a pinned key), link to the one published before it (hash chain, no missing link, no gap in ids or
// revisions), and every signed chain head must still match the chain. A head an exchange kept can be checked too.
import { createHash } from 'node:crypto';
import { chainHash, GENESIS_CHAIN_HASH, publishedFixing, signedPayload } from '../fixer/published.js';
import type { FixingRecord } from '../methodology/fixing.js';
import { verifyPayload } from '../signing/index.js';
import { fingerprintOf, keyValidAt } from '../signing/registry.js';
import {
  allChainHeads,
  allSettlements,
  allFixings,
  AuditHasher,
  blockGpuNames,
  everyObservationBlock,
  gpuNamesOf,
  snapshotHashes,
  snapshotsMissingObservations,
  storedAuditBlocks,
  pendingSummary,
  referenceTriggerDefinitions,
  repeatedSnapshots,
  signingKeys,
  snapshotBodies,
  triggerDefinitions,
  type Db,
  type Fixing,
  type SigningKey,
} from '../storage/index.js';

export interface VerifyOptions {
  /** Fingerprints (full sha256 hex of the public key DER) of the only keys trusted to have signed; default: the database's registry. */
  trustedFingerprints?: readonly string[];
  /** Chain hashes an exchange kept from /v1/chain/head: each must still be a link of the intact chain. */
  heads?: readonly string[];
}

export interface VerifyReport {
  snapshots: number;
  fixings: number;
  /** Revisions published before signatures were stored (a prefix of the chain; covered by the chain only). */
  unsigned: number;
  chainHeads: number;
  /** Keys that signed the revisions checked, with their fingerprints. */
  keys: { key_id: string; fingerprint: string }[];
  problems: string[];
}

const label = (f: Fixing) => `${f.series} ${f.date} r${f.revision} (fixing id ${f.id})`;
const normalizeSql = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Columns stored beside the record must say what the record says. */
function columnProblems(f: Fixing): string[] {
  let record: FixingRecord;
  try {
    record = JSON.parse(f.record) as FixingRecord;
  } catch {
    return [`${label(f)}: its record is not valid JSON`];
  }
  const pairs: [string, unknown, unknown][] = [
    ['series', f.series, record.series],
    ['date', f.date, record.date],
    ['status', f.status, record.status],
    ['value', f.value, record.value],
    ['carried_from', f.carried_from, record.carried_from],
    ['methodology_version', f.methodology_version, record.methodology_version],
    ['parameter_hash', f.parameter_hash, record.parameter_hash],
    ['input_digest', f.input_digest, record.input_digest],
  ];
  return pairs.filter(([, a, b]) => a !== b).map(([k, a, b]) => `${label(f)}: ${k} column ${JSON.stringify(a)} differs from its record's ${JSON.stringify(b)}`);
}

async function triggerProblems(db: Db): Promise<string[]> {
  const expected = await referenceTriggerDefinitions(db);
  const present = await triggerDefinitions(db);
  const out: string[] = [];
  for (const [name, text] of expected) {
    const actual = present.get(name);
    if (actual === undefined) out.push(`append-only trigger ${name} is missing: stored rows could be changed silently`);
    else if (normalizeSql(actual) !== normalizeSql(text))
      out.push(`append-only trigger ${name} has been redefined: its SQL is not the one this software creates`);
  }
  for (const name of present.keys()) if (!expected.has(name)) out.push(`unexpected trigger ${name}: not created by this software`);
  return out;
}

/**
 * Every revision's audit blocks: each must decode, the blocks must be numbered from 0 and hold their rows in
 * observation-id order, every snapshot they name must exist, and a revision published with an audit hash must
 * have audit rows that hash to it (the hash is inside its signed document).
 */
async function auditProblems(db: Db, fixings: readonly Fixing[]): Promise<string[]> {
  const problems: string[] = [];
  const existing = new Set<number>();
  const missing = new Map<number, number>();
  for (const f of fixings) {
    const hasher = new AuditHasher();
    const named = new Set<number>();
    let expected = 0;
    let lastId = Number.NEGATIVE_INFINITY;
    let readable = true;
    for await (const b of storedAuditBlocks(db, f.id)) {
      if (b.block !== expected) problems.push(`${label(f)}: audit block ${b.block} follows block ${expected - 1}: a block is missing or inserted`);
      expected = b.block + 1;
      if (!b.read.ok) {
        problems.push(`${label(f)}: audit block ${b.block} cannot be read (${b.read.reason})`);
        readable = false;
        continue;
      }
      const rows = b.read.rows;
      let ordered = rows.length > 0 && rows.observationId[0] === b.first_observation_id && rows.observationId[rows.length - 1] === b.last_observation_id;
      for (let k = 0; k < rows.length && ordered; k++) {
        ordered = rows.observationId[k]! > lastId;
        lastId = rows.observationId[k]!;
      }
      if (!ordered) problems.push(`${label(f)}: audit block ${b.block} does not hold its rows in observation-id order as recorded`);
      for (const id of rows.snapshotId) named.add(id);
      hasher.add(rows);
    }
    const unknown = [...named].filter((id) => !existing.has(id));
    const found = await snapshotHashes(db, unknown);
    for (const id of unknown) {
      if (found.has(id)) existing.add(id);
      else if (!missing.has(id)) missing.set(id, f.id);
    }
    if (f.audit_sha256 !== null && readable && hasher.digest() !== f.audit_sha256)
      problems.push(`${label(f)}: its audit rows do not hash to the audit_sha256 in its signed document: they were changed after publication`);
  }
  for (const [id, fixingId] of [...missing].sort(([a], [b]) => a - b))
    problems.push(`snapshot ${id} is missing, yet the audit of fixing id ${fixingId} names it`);
  return problems;
}

/**
 * Every snapshot's observation block: it must decode, number its observations consecutively from its first id, not
 * overlap the block before it, and agree with the summary of raw GPU names stored beside it (which tells a fixing
 * whether to read the days before its date); a snapshot whose parse accepted rows must have one.
 */
async function observationProblems(db: Db): Promise<string[]> {
  const problems: string[] = [];
  let end = 1;
  for await (const b of everyObservationBlock(db)) {
    const name = `snapshot ${b.snapshotId}: its observation block`;
    if (b.firstId < end) problems.push(`${name} numbers observations from ${b.firstId}, which the block before it already numbered (to ${end - 1})`);
    end = Math.max(end, b.firstId + b.rowCount);
    if (!b.read.ok) {
      problems.push(`${name} cannot be read (${b.read.reason})`);
      continue;
    }
    const block = b.read.block;
    if (!block.idOffset.every((offset, k) => offset === k)) problems.push(`${name} does not number its observations consecutively`);
    if (gpuNamesOf(blockGpuNames(block)) !== b.gpuNames) problems.push(`${name} does not hold the raw GPU names its stored summary lists`);
  }
  for (const id of await snapshotsMissingObservations(db)) problems.push(`snapshot ${id}: its parse accepted rows, but its observation block is missing`);
  return problems;
}

export async function verifyDatabase(db: Db, options: VerifyOptions = {}): Promise<VerifyReport> {
  const problems: string[] = await triggerProblems(db);
  const trusted = options.trustedFingerprints ? new Set(options.trustedFingerprints.map((f) => f.toLowerCase())) : null;

  let snapshots = 0;
  for await (const s of snapshotBodies(db)) {
    snapshots += 1;
    if (!Buffer.isBuffer(s.body)) {
      problems.push(`snapshot ${s.id} (${s.venue}): its body cannot be read (${s.body.unreadable})`);
      continue;
    }
    const actual = createHash('sha256').update(s.body).digest('hex');
    if (actual !== s.sha256)
      problems.push(`snapshot ${s.id} (${s.venue}): body sha256 ${actual.slice(0, 12)}… differs from the recorded ${s.sha256.slice(0, 12)}…`);
  }
  problems.push(...(await observationProblems(db)));
  const pending = await pendingSummary(db);
  if (pending.count > 0) {
    problems.push(
      `${pending.count} snapshot(s) are stuck pending from snapshot ${pending.oldest}: fixings read no data newer than snapshot ${(pending.oldest ?? 1) - 1} until a writer (collect, import, fix) recovers them`,
    );
  }
  for (const id of await repeatedSnapshots(db))
    problems.push(
      `snapshot ${id} repeats the content of an earlier snapshot of the same venue and instant (stored twice by an older version; fixings of its window counted it twice)`,
    );

  const keys = await signingKeys(db);
  const usedKeys = new Map<string, string>();
  const signatureProblem = (f: Fixing): string | null => {
    const key: SigningKey | undefined = keyValidAt(keys, f.key_id!, f.computed_at);
    if (!key) return `${label(f)}: signed by key ${f.key_id}, which the key registry does not hold as valid at ${new Date(f.computed_at).toISOString()}`;
    const fingerprint = fingerprintOf(key.public_key_pem);
    if (trusted && !trusted.has(fingerprint)) return `${label(f)}: signed by key ${f.key_id} (fingerprint ${fingerprint}), which is not a trusted key`;
    usedKeys.set(key.key_id, fingerprint);
    if (!verifyPayload(key.public_key_pem, signedPayload(publishedFixing(f)), f.signature!))
      return `${label(f)}: signature does not verify: the revision was changed after it was published`;
    return null;
  };

  const fixings = await allFixings(db);
  const hashes = new Map<string, Fixing>();
  const revisionsSeen = new Map<string, number>();
  let previous: Fixing | undefined;
  let unsigned = 0;
  let signingStarted = false;
  // The first revision at which the chain does not hold: a kept head at or after it proves nothing.
  let firstBreak = Number.POSITIVE_INFINITY;
  for (const f of fixings) {
    const before = problems.length;
    problems.push(...columnProblems(f));
    const expectedId = previous ? previous.id + 1 : 1;
    if (f.id !== expectedId)
      problems.push(
        `${label(f)}: fixing ids jump from ${previous?.id ?? 0} to ${f.id}: ${f.id > expectedId ? 'revisions were removed' : 'the order was altered'}`,
      );
    const key = `${f.series}\u0000${f.date}`;
    const expectedRevision = (revisionsSeen.get(key) ?? 0) + 1;
    if (f.revision !== expectedRevision)
      problems.push(`${label(f)}: revision ${f.revision} follows revision ${expectedRevision - 1} of its date: a revision is missing or inserted`);
    revisionsSeen.set(key, f.revision);

    const expectedLink = previous ? chainHash(publishedFixing(previous)) : GENESIS_CHAIN_HASH;
    if (f.previous_chain_hash === null) problems.push(`${label(f)}: hash chain link is missing (a missing link is a break)`);
    else if (f.previous_chain_hash !== expectedLink) {
      problems.push(
        previous
          ? `${label(f)}: hash chain broken: it links to ${f.previous_chain_hash.slice(0, 12)}…, but the revision published before it, ${label(previous)}, now hashes to ${expectedLink.slice(0, 12)}… (edited, or a revision between them removed)`
          : `${label(f)}: hash chain broken: the first revision should link to the genesis hash`,
      );
    }
    if (problems.length > before) firstBreak = Math.min(firstBreak, f.id);
    if (f.key_id === null || f.signature === null) {
      if (signingStarted || f.key_id !== null || f.signature !== null)
        problems.push(`${label(f)}: signature missing, yet revisions before it were signed at publication`);
      else unsigned += 1;
    } else {
      signingStarted = true;
      const p = signatureProblem(f);
      if (p) problems.push(p);
    }
    hashes.set(chainHash(publishedFixing(f)), f);
    previous = f;
  }

  problems.push(...(await auditProblems(db, fixings)));

  const heads = await allChainHeads(db);
  const byId = new Map(fixings.map((f) => [f.id, f]));
  for (const h of heads) {
    const covered = byId.get(h.fixing_id);
    const key = keyValidAt(keys, h.key_id, h.created_at);
    if (!covered) problems.push(`chain head ${h.id}: names fixing id ${h.fixing_id}, which is missing`);
    else if (hashes.get(h.chain_hash) !== covered)
      problems.push(
        `chain head ${h.id} (${new Date(h.created_at).toISOString()}): ${label(covered)} no longer hashes to the signed head ${h.chain_hash.slice(0, 12)}…`,
      );
    if (!key || !verifyPayload(key.public_key_pem, h.payload, h.signature))
      problems.push(`chain head ${h.id}: signature does not verify with a key valid at ${new Date(h.created_at).toISOString()}`);
    else if (trusted && !trusted.has(fingerprintOf(key.public_key_pem)))
      problems.push(`chain head ${h.id}: signed by key ${h.key_id}, which is not a trusted key`);
    else if (JSON.parse(h.payload).chain_hash !== h.chain_hash) problems.push(`chain head ${h.id}: its chain_hash column differs from its signed payload`);
  }
  const lastHead = heads[heads.length - 1];
  const signedFixings = fixings.filter((f) => f.key_id !== null);
  const lastSigned = signedFixings[signedFixings.length - 1];
  if (lastSigned && (!lastHead || lastHead.fixing_id < lastSigned.id)) {
    problems.push(`revisions after fixing id ${lastHead?.fixing_id ?? 0} are covered by no signed chain head: they were added outside a publication run`);
  }
  // Settlements: each signed at publication with a key valid then, its columns as its signed record says.
  for (const st of await allSettlements(db)) {
    const name = `settlement ${st.series} ${st.month} r${st.revision}`;
    const key = keyValidAt(keys, st.key_id, st.computed_at);
    if (!key || !verifyPayload(key.public_key_pem, st.record, st.signature)) {
      problems.push(`${name}: signature does not verify with a key valid at ${new Date(st.computed_at).toISOString()}: it was changed after it was published`);
      continue;
    }
    if (trusted && !trusted.has(fingerprintOf(key.public_key_pem))) problems.push(`${name}: signed by key ${st.key_id}, which is not a trusted key`);
    const record = JSON.parse(st.record) as { series: string; month: string; revision: number; status: string; value: number | null };
    for (const column of ['series', 'month', 'revision', 'status', 'value'] as const)
      if (record[column] !== st[column])
        problems.push(`${name}: ${column} column ${String(st[column])} differs from its signed record's ${String(record[column])}`);
  }
  for (const head of options.heads ?? []) {
    const found = hashes.get(head.toLowerCase());
    if (!found)
      problems.push(
        `kept chain head ${head.slice(0, 12)}… is not a link of the current chain: a revision published up to it was rewritten, removed or inserted`,
      );
    else if (found.id >= firstBreak)
      problems.push(`kept chain head ${head.slice(0, 12)}… (${label(found)}) lies after a break of the chain at fixing id ${firstBreak}`);
  }
  return {
    snapshots,
    fixings: fixings.length,
    unsigned,
    chainHeads: heads.length,
    keys: [...usedKeys].map(([key_id, fingerprint]) => ({ key_id, fingerprint })),
    problems,
  };
}
