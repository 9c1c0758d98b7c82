// `gpuidx verify`: tamper evidence over the whole database. The append-only triggers must be in place, every
// stored body must still hash to its recorded sha256, every published revision must agree with its own record
// and link to the one published before it (hash chain), and every snapshot an audit row names must exist.
import { createHash } from 'node:crypto';
import { chainHash, GENESIS_CHAIN_HASH, publishedFixing } from '../fixer/published.js';
import type { FixingRecord } from '../methodology/fixing.js';
import { allFixings, missingAuditSnapshots, snapshotBodies, triggerNames, type Db, type Fixing } from '../storage/index.js';

export const APPEND_ONLY_TRIGGERS = [
  'fixing_inputs_no_delete',
  'fixing_inputs_no_update',
  'fixings_no_delete',
  'fixings_no_update',
  'observations_no_delete',
  'observations_no_update',
  'snapshots_body_immutable',
  'snapshots_no_delete',
  'snapshots_outcome_once',
];

export interface VerifyReport {
  snapshots: number;
  fixings: number;
  problems: string[];
}

const label = (f: Fixing) => `${f.series} ${f.date} r${f.revision} (fixing id ${f.id})`;

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

export async function verifyDatabase(db: Db): Promise<VerifyReport> {
  const problems: string[] = [];
  const present = new Set(await triggerNames(db));
  for (const t of APPEND_ONLY_TRIGGERS) if (!present.has(t)) problems.push(`append-only trigger ${t} is missing: stored rows could be changed silently`);

  let snapshots = 0;
  for await (const batch of snapshotBodies(db)) {
    for (const s of batch) {
      snapshots += 1;
      const actual = createHash('sha256').update(s.body).digest('hex');
      if (actual !== s.sha256) problems.push(`snapshot ${s.id} (${s.venue}): body sha256 ${actual.slice(0, 12)}… differs from the recorded ${s.sha256.slice(0, 12)}…`);
      if (s.body.length !== s.byte_size) problems.push(`snapshot ${s.id} (${s.venue}): body is ${s.body.length} bytes, recorded ${s.byte_size}`);
    }
  }
  for (const m of await missingAuditSnapshots(db)) problems.push(`snapshot ${m.snapshot_id} is missing, yet the audit of fixing id ${m.fixing_id} names it`);

  const fixings = await allFixings(db);
  let previous: Fixing | undefined;
  for (const f of fixings) {
    problems.push(...columnProblems(f));
    if (f.previous_chain_hash !== null) {
      const expected = previous ? chainHash(publishedFixing(previous)) : GENESIS_CHAIN_HASH;
      if (f.previous_chain_hash !== expected) {
        problems.push(
          previous
            ? `${label(f)}: hash chain broken: it links to ${f.previous_chain_hash.slice(0, 12)}…, but the revision published before it, ${label(previous)}, now hashes to ${expected.slice(0, 12)}… (edited, or a revision between them removed)`
            : `${label(f)}: hash chain broken: the first revision should link to the genesis hash`,
        );
      }
    }
    previous = f;
  }
  return { snapshots, fixings: fixings.length, problems };
}
