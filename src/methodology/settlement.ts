// The monthly settlement price of a series (rule settlement/1, METHODOLOGY.md "Monthly settlement prices"): the
// arithmetic mean of the month's daily fixing values, each taken from the revision standing at the cut-off. Pure:
// the revisions and the instant come in, the record goes out; the rule's parameters are a published file.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { canonicalJson } from './canonical.js';
import { METHODOLOGY_DIR } from './params.js';

export const settlementRuleSchema = z.object({
  rule: z.string().regex(/^settlement\/\d+$/),
  effective_from: z.string().regex(/^\d{4}-\d{2}$/),
  description: z.string(),
  /** The settlement is final this many hours after the month's last day ends (UTC). */
  cutoff_hours_after_month_end: z.number().int().min(0),
  /** Fewer days with a value than this: the settlement is `insufficient` (no value). */
  min_valued_days: z.number().int().min(1),
  decimals: z.number().int().min(0).max(8),
});
export type SettlementRule = z.infer<typeof settlementRuleSchema>;

export function loadSettlementRule(dir = METHODOLOGY_DIR): SettlementRule {
  return settlementRuleSchema.parse(JSON.parse(readFileSync(join(dir, 'settlement-1.json'), 'utf8')));
}

/** sha256 of the rule file's canonical JSON: a settlement names the exact parameters it was computed with. */
export function settlementRuleHash(rule: SettlementRule): string {
  return createHash('sha256').update(canonicalJson(rule)).digest('hex');
}

/** One published revision of a daily fixing of the month, as the rule reads it. */
export interface DailyRevision {
  date: string;
  revision: number;
  status: string;
  value: number | null;
  /** UTC ms at which the revision was published. */
  computed_at: number;
}

export interface SettlementDay {
  date: string;
  /** The revision standing at the cut-off (before the cut-off: the latest), or null when none was published. */
  revision: number | null;
  status: string | null;
  value: number | null;
  counted: boolean;
  /** Why a day does not count: no fixing was published for it, or its fixing has no value (insufficient). */
  excluded: 'no_fixing' | 'no_value' | null;
}

export interface SettlementRecord {
  rule: string;
  rule_hash: string;
  series: string;
  /** YYYY-MM. */
  month: string;
  /** `final` once the cut-off has passed; `insufficient` (final, no value) when too few days have a value. */
  status: 'final' | 'provisional' | 'insufficient';
  value: number | null;
  unit: string;
  /** The instant the standing revisions are read at (ISO). */
  cutoff: string;
  days_in_month: number;
  days_counted: number;
  days: SettlementDay[];
}

/** The month's dates, YYYY-MM-DD, in order. */
export function monthDates(month: string): string[] {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return Array.from({ length: days }, (_, i) => `${month}-${String(i + 1).padStart(2, '0')}`);
}

/** The cut-off of a month: its end plus the rule's delay, UTC ms. */
export function settlementCutoff(month: string, rule: SettlementRule): number {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return Date.UTC(y, m, 1) + rule.cutoff_hours_after_month_end * 3_600_000;
}

/**
 * The mean of values given to `decimals` places, rounded half away from zero, in exact integer arithmetic: each
 * value is a whole number of 10^-decimals units (fixings are published rounded), so the sum is exact and the
 * result does not depend on the order of the days.
 */
export function meanOfRounded(values: readonly number[], decimals: number): number {
  const scale = 10 ** decimals;
  const sum = values.reduce((s, v) => s + Math.round(v * scale), 0);
  const n = values.length;
  const units = sum >= 0 ? Math.floor((2 * sum + n) / (2 * n)) : -Math.floor((-2 * sum + n) / (2 * n));
  return units / scale;
}

export function settle(input: {
  series: string;
  unit: string;
  month: string;
  revisions: readonly DailyRevision[];
  /** When the settlement is computed (UTC ms): before the cut-off it is provisional. */
  now: number;
  rule: SettlementRule;
}): SettlementRecord {
  const { rule, month } = input;
  const cutoff = settlementCutoff(month, rule);
  const final = input.now >= cutoff;
  const readAt = final ? cutoff : input.now;
  const days = monthDates(month).map((date): SettlementDay => {
    let standing: DailyRevision | undefined;
    for (const r of input.revisions) {
      if (r.date !== date || r.computed_at > readAt) continue;
      if (!standing || r.revision > standing.revision) standing = r;
    }
    if (!standing) return { date, revision: null, status: null, value: null, counted: false, excluded: 'no_fixing' };
    const counted = standing.value !== null;
    return { date, revision: standing.revision, status: standing.status, value: standing.value, counted, excluded: counted ? null : 'no_value' };
  });
  const values = days.filter((d) => d.counted).map((d) => d.value!);
  const enough = values.length >= rule.min_valued_days;
  const status = !final ? 'provisional' : enough ? 'final' : 'insufficient';
  return {
    rule: rule.rule,
    rule_hash: settlementRuleHash(rule),
    series: input.series,
    month,
    status,
    value: values.length === 0 || status === 'insufficient' ? null : meanOfRounded(values, rule.decimals),
    unit: input.unit,
    cutoff: new Date(cutoff).toISOString(),
    days_in_month: days.length,
    days_counted: values.length,
    days,
  };
}
