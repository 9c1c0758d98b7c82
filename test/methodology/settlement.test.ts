// Rule settlement/1 on hand-built months: which revision counts, how carried-forward, insufficient and missing days
// count, the minimum of valued days, and the rounding. Every expected value is worked out in the comments.
import { describe, expect, it } from 'vitest';
import { loadSettlementRule, meanOfRounded, monthDates, settle, settlementCutoff, type DailyRevision } from '../../src/methodology/settlement.js';

const rule = loadSettlementRule();
const at = (iso: string) => Date.parse(iso);
/** A revision of `date` published at noon of the next day (UTC). */
const daily = (day: number, value: number | null, status = value === null ? 'insufficient' : 'normal', revision = 1, publishedAt?: string): DailyRevision => {
  const date = `2026-11-${String(day).padStart(2, '0')}`;
  return { date, revision, status, value, computed_at: publishedAt ? at(publishedAt) : Date.parse(`${date}T00:00:00Z`) + 36 * 3_600_000 };
};
const november = (revisions: DailyRevision[], now: string) =>
  settle({ series: 'GPUIDX-H100-SXM', unit: 'USD per GPU-hour', month: '2026-11', revisions, now: at(now), rule });

describe('settlement/1 parameters', () => {
  it('are the published file: cut-off 48 hours after the month ends, at least 15 valued days, 4 decimals', () => {
    expect(rule).toMatchObject({ rule: 'settlement/1', cutoff_hours_after_month_end: 48, min_valued_days: 15, decimals: 4 });
  });

  it('cut a month off 48 hours after its last day ends, whatever its length', () => {
    expect(new Date(settlementCutoff('2026-11', rule)).toISOString()).toBe('2026-12-03T00:00:00.000Z');
    expect(new Date(settlementCutoff('2026-12', rule)).toISOString()).toBe('2027-01-03T00:00:00.000Z');
    expect(monthDates('2028-02')).toHaveLength(29);
    expect(monthDates('2026-02').at(-1)).toBe('2026-02-28');
  });
});

describe('the mean of rounded values', () => {
  it.each([
    // [1.0001, 1.0002]: 20003 units / 2 = 10001.5, half away from zero -> 10002 -> 1.0002.
    [[1.0001, 1.0002], 1.0002],
    // [2.3, 2.323, 2.346]: 23000 + 23230 + 23460 = 69690 units / 3 = 23230 -> 2.323.
    [[2.3, 2.323, 2.346], 2.323],
    // [2.3, 2.222, 2.346]: 23000 + 22220 + 23460 = 68680 / 3 = 22893.33 -> 22893 -> 2.2893.
    [[2.3, 2.222, 2.346], 2.2893],
    // 0.1 three times: floats would sum to 0.30000000000000004; in units 3000 / 3 = 1000 -> 0.1.
    [[0.1, 0.1, 0.1], 0.1],
  ])('of %j is %d', (values, expected) => {
    expect(meanOfRounded(values, 4)).toBe(expected);
  });
});

describe('a settled month', () => {
  // November 2026, 30 days: 2.0 every day except day 5 carried forward at 2.1, day 6 insufficient, day 7 with no
  // fixing at all, and day 10 at 3.0, restated to 3.3 after the cut-off.
  const revisions = [
    ...Array.from({ length: 30 }, (_, i) => i + 1)
      .filter((d) => ![5, 6, 7, 10].includes(d))
      .map((d) => daily(d, 2.0)),
    daily(5, 2.1, 'carried_forward'),
    daily(6, null),
    daily(10, 3.0),
    daily(10, 3.3, 'normal', 2, '2026-12-05T09:00:00Z'),
  ];

  it('averages the revisions standing at the cut-off: carried values count, days without a value do not', () => {
    const r = november(revisions, '2026-12-10T00:00:00Z');
    // Counted: 30 days - day 6 (no value) - day 7 (no fixing) = 28. Sum: 26 x 2.0 + 2.1 + 3.0 = 57.1;
    // in units 571000 / 28 = 20392.857 -> 20393 -> 2.0393. The 3.3 restatement came after the cut-off.
    expect(r).toMatchObject({ status: 'final', value: 2.0393, days_in_month: 30, days_counted: 28, cutoff: '2026-12-03T00:00:00.000Z' });
    expect(r.days.filter((d) => !d.counted)).toEqual([
      { date: '2026-11-06', revision: 1, status: 'insufficient', value: null, counted: false, excluded: 'no_value' },
      { date: '2026-11-07', revision: null, status: null, value: null, counted: false, excluded: 'no_fixing' },
    ]);
    expect(r.days[9]).toEqual({ date: '2026-11-10', revision: 1, status: 'normal', value: 3.0, counted: true, excluded: null });
    expect(r.days[4]).toMatchObject({ status: 'carried_forward', value: 2.1, counted: true });
  });

  it('is the same settlement whenever it is computed after the cut-off', () => {
    expect(november(revisions, '2027-06-01T00:00:00Z')).toEqual(november(revisions, '2026-12-03T00:00:00Z'));
  });

  it('counts a restatement published before the cut-off', () => {
    const early = [...revisions.slice(0, -1), daily(10, 3.3, 'normal', 2, '2026-12-02T23:59:59Z')];
    // 26 x 2.0 + 2.1 + 3.3 = 57.4; 574000 / 28 = 20500 -> 2.05.
    expect(november(early, '2026-12-10T00:00:00Z')).toMatchObject({ status: 'final', value: 2.05 });
  });

  it('is provisional before the cut-off, over the days published so far', () => {
    // On 2026-11-20 at 00:00, days 1 .. 18 are published (each at noon the next day): days 1-4, 8, 9 and 11-18 at
    // 2.0, day 5 at 2.1, day 10 at 3.0, day 6 without value, day 7 missing: 16 counted, sum 14 x 2.0 + 2.1 + 3.0 =
    // 33.1; 331000 / 16 = 20687.5 -> 20688 -> 2.0688.
    expect(november(revisions, '2026-11-20T00:00:00Z')).toMatchObject({ status: 'provisional', value: 2.0688, days_counted: 16 });
  });

  it('has no value with fewer than 15 valued days, and one with 15', () => {
    const fourteen = Array.from({ length: 14 }, (_, i) => daily(i + 1, 2.5));
    expect(november(fourteen, '2026-12-10T00:00:00Z')).toMatchObject({ status: 'insufficient', value: null, days_counted: 14 });
    expect(november([...fourteen, daily(15, 2.5)], '2026-12-10T00:00:00Z')).toMatchObject({ status: 'final', value: 2.5, days_counted: 15 });
  });
});
