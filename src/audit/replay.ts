// Replay: re-derive published fixings from raw snapshot bytes alone (re-parsed with the parser versions they name,
// recomputed with the methodology version the fixing names) and compare every published field and audit row.
// Where the raw bytes and published fixings come from (the database or an audit bundle) is a ReplaySource.
import { createHash } from 'node:crypto';
import { toParseRecord } from '../collectors/ingest.js';
import { parserFor } from '../collectors/parsers.js';
import type { PublishedFixing } from '../fixer/published.js';
import { NONE, ObservationColumnsBuilder, reasonOf, type AuditColumns, type ObservationColumns } from '../methodology/columns.js';
import { canonicalJson } from '../methodology/canonical.js';
import { engineFor } from '../methodology/engines.js';
import { inputWindow, type FixingRecord, type PreviousValue, type SnapshotTime } from '../methodology/fixing.js';
import type { HistoryPoint } from '../methodology/types.js';
import { parameterHash, type Methodology } from '../methodology/params.js';
import type { KeyedAuditRow } from '../storage/index.js';

export interface RawSnapshot {
  id: number;
  venue: string;
  fetched_at: number;
  /** The sha256 recorded when the bytes were stored. */
  sha256: string;
  http_status: number | null;
  content_type: string | null;
  truncated: boolean;
  parser_version: string;
  parser_options: { default_quantity: number };
  body: Buffer;
  /** Why the stored body could not be read (absent, or not decodable); `body` is then empty. */
  unreadable?: string;
  /** `http` or `file` (bundles written before this was carried say nothing: taken as `http`). */
  source?: string;
}

/** One published audit row, identified by its snapshot and its position in that snapshot (as storage reads it). */
export type PublishedAuditRow = KeyedAuditRow;

export interface PublishedRevision {
  fixing: PublishedFixing;
  /** Loaded when compared, one revision at a time: a day's audit can hold millions of rows. */
  audit: () => Promise<PublishedAuditRow[]>;
  /** Opaque handle the source uses to find what was published before this revision. */
  ref: unknown;
}

export interface ReplaySource {
  /** Raw snapshots fetched in [from, to) with id <= throughSnapshot, in id order, one body at a time. */
  snapshots(from: number, to: number, throughSnapshot: number): AsyncIterable<RawSnapshot>;
  /** Every published revision of a date (optionally only some series), in publication order. */
  revisions(date: string, series?: readonly string[]): Promise<PublishedRevision[]>;
  /**
   * The earlier published values a run could carry forward, for every series of the run: `run` holds the
   * revisions one fix run published together, in publication order.
   */
  previous(date: string, run: readonly PublishedRevision[]): Promise<ReadonlyMap<string, PreviousValue>>;
  /** Methodology v2: the trailing history the run's revisions were compared with (`days` dates before `date`). */
  history(date: string, run: readonly PublishedRevision[], days: number): Promise<ReadonlyMap<string, readonly HistoryPoint[]>>;
  /** The methodology parameters of a version. */
  methodology(version: string): Methodology;
}

export interface Verdict {
  series: string;
  date: string;
  revision: number;
  match: boolean;
  differences: string[];
}

const MAX_ROW_DIFFERENCES = 10;

interface Replayed {
  observations: ObservationColumns;
  snapshots: SnapshotTime[];
  parserVersions: string[];
  findings: string[];
}

/** Parses raw snapshots as the fixer's storage saw them: only ok and partial parses contribute. Each body is let go once parsed. */
export async function reparse(raw: AsyncIterable<RawSnapshot>): Promise<Replayed> {
  // The same columns the fixer reads from storage, made from the re-parsed bytes (no observation ids: not stored).
  const observations = new ObservationColumnsBuilder();
  const snapshots: SnapshotTime[] = [];
  const versions = new Set<string>();
  const findings: string[] = [];
  for await (const s of raw) {
    if (s.unreadable !== undefined) {
      findings.push(`snapshot ${s.id} (${s.venue}): its body cannot be read (${s.unreadable})`);
      continue;
    }
    const actual = createHash('sha256').update(s.body).digest('hex');
    if (actual !== s.sha256)
      findings.push(`snapshot ${s.id} (${s.venue}): body sha256 ${actual.slice(0, 12)}… differs from the recorded ${s.sha256.slice(0, 12)}…`);
    const parse = parserFor(s.parser_version);
    if (!parse) {
      findings.push(`snapshot ${s.id}: parser ${s.parser_version} is not registered in this software`);
      continue;
    }
    const { record } = toParseRecord({ status: s.http_status, contentType: s.content_type, body: s.body, truncated: s.truncated }, parse, s.parser_options);
    if (record.outcome !== 'ok' && record.outcome !== 'partial') continue;
    versions.add(s.parser_version);
    snapshots.push({ venue: s.venue, fetchedAt: s.fetched_at });
    observations.snapshot({ snapshotId: s.id, sha256: actual, venue: s.venue, fetchedAt: s.fetched_at, source: s.source === 'file' ? 'file' : 'http' });
    for (const o of record.observations) {
      observations.add(
        0,
        o.seq,
        o.listing_id,
        o.host_id,
        o.gpu_raw,
        o.gpu_count,
        o.price_usd_per_hour,
        o.contract,
        o.available === 1,
        o.perf_system ?? null,
        o.perf_score_per_gpu ?? null,
        o.quantity_reported === 1,
        o.machine_id,
        o.gpu_memory_gb,
      );
    }
  }
  return { observations: observations.build(), snapshots, parserVersions: [...versions].sort(), findings };
}

const show = (v: unknown) => (v === undefined ? '(absent)' : canonicalJson(v));

/** Field-by-field differences between the published record and the replayed one. */
function recordDifferences(published: PublishedFixing, replayed: FixingRecord): string[] {
  const out: string[] = [];
  for (const key of Object.keys(replayed).sort() as (keyof FixingRecord)[]) {
    const a = published[key];
    const b = replayed[key];
    if (a === undefined || canonicalJson(a) !== canonicalJson(b)) out.push(`${key}: published ${show(a)}, replayed ${show(b)}`);
  }
  return out;
}

function auditDifferences(published: readonly PublishedAuditRow[], replayed: AuditColumns): string[] {
  const out: string[] = [];
  const c = replayed.inputs;
  // Replayed rows by snapshot and position: the identity a published row keeps across databases.
  const mine = new Map<number, Map<number, number>>();
  for (let k = 0; k < replayed.length; k++) {
    const row = replayed.row[k]!;
    const snapshotId = c.snapshots.id[c.snapshot[row]!]!;
    let bySeq = mine.get(snapshotId);
    if (!bySeq) mine.set(snapshotId, (bySeq = new Map()));
    bySeq.set(c.seq[row]!, k);
  }
  let remaining = replayed.length;
  let differing = 0;
  let missing = 0;
  for (const p of published) {
    const k = mine.get(p.snapshot_id)?.get(p.seq);
    if (k === undefined) {
      missing += 1;
      continue;
    }
    mine.get(p.snapshot_id)!.delete(p.seq);
    remaining -= 1;
    const priced = replayed.priced[k] === 1;
    const fields: [string, unknown, unknown][] = [
      ['class', p.class, replayed.cls[k] === NONE ? null : replayed.classes[replayed.cls[k]!]!],
      ['outcome', p.reason ?? 'included', reasonOf(replayed.reason[k]!) ?? 'included'],
      ['p', p.p, priced ? replayed.p[k]! : null],
      ['f', p.f, priced ? replayed.f[k]! : null],
      ['q', p.q, priced ? replayed.q[k]! : null],
      ['w', p.w, priced ? replayed.w[k]! : null],
      ['w_capped', p.w_capped, replayed.capped[k] === 1 ? replayed.wCapped[k]! : null],
    ];
    const bad = fields.filter(([, a, b]) => a !== b);
    if (bad.length) {
      differing += 1;
      if (differing <= MAX_ROW_DIFFERENCES) {
        const row = replayed.row[k]!;
        out.push(
          `input ${c.strings[c.venue[row]!]} ${c.strings[c.listingId[row]!]} (snapshot ${p.snapshot_id} row ${p.seq}): ${bad.map(([name, a, b]) => `${name} published ${show(a)}, replayed ${show(b)}`).join('; ')}`,
        );
      }
    }
  }
  if (differing > MAX_ROW_DIFFERENCES) out.push(`… and ${differing - MAX_ROW_DIFFERENCES} more audit rows differ`);
  if (missing) out.push(`${missing} published audit row(s) have no replayed input (a snapshot missing or changed?)`);
  if (remaining) out.push(`${remaining} replayed input(s) are not in the published audit (a snapshot added?)`);
  return out;
}

/** Replays every published revision of a date from the source, returning one verdict per revision. */
export async function replayDate(source: ReplaySource, date: string, series?: readonly string[]): Promise<Verdict[]> {
  const revisions = await source.revisions(date, series);
  const verdicts: Verdict[] = [];
  // Revisions published by one run share their inputs: group by methodology and snapshot watermark.
  const groups = new Map<string, PublishedRevision[]>();
  for (const r of revisions) {
    const key = `${r.fixing.methodology_version}|${r.fixing.inputs_through_snapshot}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  for (const group of groups.values()) {
    const first = group[0]!.fixing;
    let methodology: Methodology;
    try {
      methodology = source.methodology(first.methodology_version);
    } catch (err) {
      for (const r of group) verdicts.push({ series: r.fixing.series, date, revision: r.fixing.revision, match: false, differences: [(err as Error).message] });
      continue;
    }
    const { from, to } = inputWindow(date, methodology);
    // Parsed, the raw bodies are let go; results are compared one series at a time as the engine yields them.
    const parsed = await reparse(source.snapshots(from, to, first.inputs_through_snapshot ?? Number.MAX_SAFE_INTEGER));
    const previous = await source.previous(date, group);
    const days = methodology.parameters.coverage_days;
    const history = days ? await source.history(date, group, days) : new Map();
    const bySeries = new Map(group.map((r) => [r.fixing.series, r]));
    const engine = engineFor(methodology)({
      methodology,
      date,
      observations: parsed.observations,
      snapshots: parsed.snapshots,
      previous,
      history,
      series: [...bySeries.keys()],
    });
    for (const mine of engine) {
      const r = bySeries.get(mine.record.series);
      if (!r) continue;
      bySeries.delete(mine.record.series);
      const differences = [...parsed.findings];
      if (parameterHash(methodology) !== r.fixing.parameter_hash) {
        differences.push(
          `methodology ${methodology.version} parameters hash to ${parameterHash(methodology).slice(0, 12)}…, the fixing names ${r.fixing.parameter_hash.slice(0, 12)}…`,
        );
      }
      if (canonicalJson(parsed.parserVersions) !== canonicalJson(r.fixing.parser_versions)) {
        differences.push(`parser versions: published ${show(r.fixing.parser_versions)}, replayed ${show(parsed.parserVersions)}`);
      }
      differences.push(...recordDifferences(r.fixing, mine.record), ...auditDifferences(await r.audit(), mine.audit));
      verdicts.push({ series: r.fixing.series, date, revision: r.fixing.revision, match: differences.length === 0, differences });
    }
    for (const r of bySeries.values()) {
      verdicts.push({
        series: r.fixing.series,
        date,
        revision: r.fixing.revision,
        match: false,
        differences: ['the methodology produced no fixing for this series'],
      });
    }
  }
  return verdicts.sort((a, b) => (a.series < b.series ? -1 : a.series > b.series ? 1 : a.revision - b.revision));
}
