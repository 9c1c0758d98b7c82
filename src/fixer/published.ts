// The published form of a stored fixing revision: what the API serves and signs, what audit bundles carry, and
// what the hash chain links (each revision names the sha256 of the one published before it).
import { createHash } from 'node:crypto';
import { canonicalJson } from '../methodology/canonical.js';
import type { FixingRecord } from '../methodology/fixing.js';
import type { FixingEvidence, HistoryPoint } from '../methodology/types.js';
import type { Fixing } from '../storage/index.js';

export interface PublishedFixing extends FixingRecord {
  revision: number;
  software_version: string;
  computed_at: string;
  restatement_reason: string | null;
  previous_input_digest: string | null;
  parser_versions: string[];
  inputs_through_snapshot: number | null;
  previous_chain_hash: string | null;
  /** Present on revisions signed when published: the key that signed, and the sha256 of the stored evidence JSON. */
  key_id?: string;
  evidence_sha256?: string;
  /** Present on revisions published since 2026-12-03: the sha256 of the canonical form of the audit rows (AUDIT.md). */
  audit_sha256?: string;
}

/** The first revision ever published links to this. */
export const GENESIS_CHAIN_HASH = '0'.repeat(64);

/** The stored columns a published document is made from (an id is not part of it). */
export type FixingColumns = Omit<Fixing, 'id' | 'signature'>;

export function publishedFixing(row: FixingColumns): PublishedFixing {
  // Revisions signed at publication also bind the signing key and the evidence (venue shares, fences) they were
  // published with; older revisions keep the document they were chained with.
  const sealed = row.key_id === null ? {} : { key_id: row.key_id, evidence_sha256: createHash('sha256').update(row.evidence).digest('hex') };
  return {
    ...sealed,
    // Revisions published since audits are stored in blocks also bind the audit rows (older documents stay as signed).
    ...(row.audit_sha256 ? { audit_sha256: row.audit_sha256 } : {}),
    ...(JSON.parse(row.record) as FixingRecord),
    revision: row.revision,
    software_version: row.software_version,
    computed_at: new Date(row.computed_at).toISOString(),
    restatement_reason: row.restatement_reason,
    previous_input_digest: row.previous_input_digest,
    parser_versions: JSON.parse(row.parser_versions) as string[],
    inputs_through_snapshot: row.inputs_through_snapshot,
    previous_chain_hash: row.previous_chain_hash,
  };
}

/**
 * A published fixing as methodology v2's trailing history reads it: its date, version and published volume, and
 * each venue's share (before the caps) from its evidence. The same for a stored row and a bundle's document.
 */
export function historyPoint(fixing: Pick<FixingRecord, 'date' | 'methodology_version' | 'volume'>, evidence: string): HistoryPoint {
  const shares = (JSON.parse(evidence) as Partial<FixingEvidence>).venue_shares ?? [];
  return {
    date: fixing.date,
    methodology_version: fixing.methodology_version,
    volume: fixing.volume,
    venue_shares: Object.fromEntries(shares.map((v) => [v.venue, v.share])),
  };
}

/** What a fixing's signature covers: its published fields as canonical JSON (keys sorted, no whitespace). */
export function signedPayload(fixing: PublishedFixing): string {
  return canonicalJson(fixing);
}

/** The link a revision gives the next one in the hash chain: sha256 of its canonical published document. */
export function chainHash(fixing: PublishedFixing): string {
  return createHash('sha256').update(signedPayload(fixing)).digest('hex');
}
