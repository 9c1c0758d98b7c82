// Publishes monthly settlement prices: after a month's cut-off, each series' settlement (rule settlement/1) is
// computed from the stored daily revisions, signed with the publisher's key and stored, all in one transaction.
import { canonicalJson } from '../methodology/canonical.js';
import { loadSettlementRule, settle, settlementCutoff, type SettlementRecord, type SettlementRule } from '../methodology/settlement.js';
import { ensureActiveKey } from '../signing/registry.js';
import { insertSettlement, latestSettlement, monthRevisions, seriesOfMonth, type Db, type Settlement } from '../storage/index.js';
import { PublicationRefusedError, UnknownSeriesError, type FixDeps } from './index.js';

/** A settlement as published and signed: the record with the id of the key that signed it. */
export type PublishedSettlement = SettlementRecord & { key_id: string; revision: number; computed_at: string };

export type SettleOutcome =
  | { series: string; action: 'published' | 'unchanged'; revision: number; status: SettlementRecord['status']; value: number | null }
  | { series: string; action: 'would_publish'; status: SettlementRecord['status']; value: number | null };

/** A series' settlement for a month computed from what is stored now (provisional before the cut-off). */
export async function computeSettlement(db: Db, series: string, month: string, now: number, rule: SettlementRule): Promise<SettlementRecord> {
  const revisions = await monthRevisions(db, series, month);
  const unit = revisions.length ? (JSON.parse(revisions[revisions.length - 1]!.record) as { unit: string }).unit : 'USD per GPU-hour';
  return settle({ series, unit, month, revisions, now, rule });
}

/** The stored, signed form of a settlement row (what the API serves and what the signature covers). */
export function publishedSettlement(row: Settlement): PublishedSettlement {
  return JSON.parse(row.record) as PublishedSettlement;
}

export async function settleMonth(deps: FixDeps, opts: { month: string; series?: readonly string[]; dryRun?: boolean }): Promise<SettleOutcome[]> {
  const rule = loadSettlementRule();
  const now = deps.clock();
  const cutoff = settlementCutoff(opts.month, rule);
  if (now < cutoff)
    throw new PublicationRefusedError(
      opts.month,
      'before_cutoff',
      `the settlement of ${opts.month} is final only after its cut-off, ${new Date(cutoff).toISOString()} (${rule.cutoff_hours_after_month_end} hours after the month ends); the API serves it as provisional until then`,
    );
  const run = async (db: Db): Promise<SettleOutcome[]> => {
    const known = await seriesOfMonth(db, opts.month);
    const unknown = (opts.series ?? []).filter((s) => !known.includes(s));
    if (unknown.length) throw new UnknownSeriesError(unknown);
    if (!opts.dryRun) await ensureActiveKey(db, deps.signer, now);
    const out: SettleOutcome[] = [];
    for (const series of opts.series ?? known) {
      const record = await computeSettlement(db, series, opts.month, now, rule);
      if (opts.dryRun) {
        out.push({ series, action: 'would_publish', status: record.status, value: record.value });
        continue;
      }
      const prior = await latestSettlement(db, series, opts.month);
      // The rule reads the revisions standing at the cut-off, so a rerun gives the same record.
      if (prior && canonicalJson(settlementBody(publishedSettlement(prior))) === canonicalJson(record)) {
        out.push({ series, action: 'unchanged', revision: prior.revision, status: record.status, value: record.value });
        continue;
      }
      const revision = (prior?.revision ?? 0) + 1;
      const published: PublishedSettlement = { ...record, key_id: deps.signer.keyId, revision, computed_at: new Date(now).toISOString() };
      const payload = canonicalJson(published);
      await insertSettlement(db, {
        series,
        month: opts.month,
        revision,
        status: record.status,
        value: record.value,
        record: payload,
        key_id: deps.signer.keyId,
        signature: deps.signer.sign(payload),
        computed_at: now,
      });
      out.push({ series, action: 'published', revision, status: record.status, value: record.value });
    }
    return out;
  };
  return opts.dryRun ? run(deps.db) : deps.db.transaction().execute(run);
}

/** The rule's record inside a published settlement (without what publication adds). */
function settlementBody(p: PublishedSettlement): SettlementRecord {
  const { key_id: _k, revision: _r, computed_at: _c, ...record } = p;
  return record;
}
