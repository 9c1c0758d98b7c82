// The CSV forms of published fixings (one row per fixing; one row per date across series), RFC 4180 with CRLF.
import { stringify } from 'csv-stringify/sync';
import type { PublishedFixing } from '../fixer/published.js';
import type { AuditInputRow } from '../storage/index.js';

const CSV_COLUMNS = [
  'date',
  'series',
  'value',
  'status',
  'revision',
  'unit',
  'vwap',
  'p10',
  'p25',
  'p75',
  'p90',
  'min',
  'max',
  'listings',
  'venues',
  'volume_gpu_hours',
  'carried_from',
  'methodology_version',
  'input_digest',
] as const;

export function historyCsv(rows: readonly PublishedFixing[]): string {
  return stringify(
    rows.map((f) => [
      f.date,
      f.series,
      f.value,
      f.status,
      f.revision,
      f.unit,
      f.vwap,
      f.percentiles?.p10 ?? null,
      f.percentiles?.p25 ?? null,
      f.percentiles?.p75 ?? null,
      f.percentiles?.p90 ?? null,
      f.min,
      f.max,
      f.listings,
      f.venues,
      f.volume,
      f.carried_from,
      f.methodology_version,
      f.input_digest,
    ]),
    { header: true, columns: [...CSV_COLUMNS], record_delimiter: 'windows', cast: { number: (n) => String(n) } },
  );
}

/** Several series side by side: one row per date, one value column per series (empty where it has none). */
export function wideCsv(series: readonly string[], rows: ReadonlyMap<string, ReadonlyMap<string, number | null>>): string {
  const dates = [...rows.keys()].sort();
  return stringify(
    dates.map((d) => [d, ...series.map((code) => rows.get(d)?.get(code) ?? null)]),
    { header: true, columns: ['date', ...series], record_delimiter: 'windows', cast: { number: (n) => String(n) } },
  );
}

const AUDIT_COLUMNS = [
  'observation_id',
  'snapshot_id',
  'venue',
  'fetched_at',
  'listing_id',
  'gpu_raw',
  'gpu_count',
  'price_usd_per_hour',
  'contract',
  'class',
  'outcome',
  'p',
  'f',
  'q',
  'w',
  'w_capped',
  // Added 2026-12-03, last so that existing readers of the columns keep their positions.
  'seq',
] as const;

/** A fixing's audit rows, one per input, with the outcome (`included` or the exclusion reason). */
export function auditCsv(rows: readonly AuditInputRow[]): string {
  return stringify(
    rows.map((r) => [
      r.observation_id,
      r.snapshot_id,
      r.venue,
      new Date(r.fetched_at).toISOString(),
      r.listing_id,
      r.gpu_raw,
      r.gpu_count,
      r.price_usd_per_hour,
      r.contract,
      r.class,
      r.reason ?? 'included',
      r.p,
      r.f,
      r.q,
      r.w,
      r.w_capped,
      r.seq,
    ]),
    { header: true, columns: [...AUDIT_COLUMNS], record_delimiter: 'windows', cast: { number: (n) => String(n) } },
  );
}
