// What every methodology engine shares: the inputs it reads, the records and audit rows it returns, the request.
// Each engine (v1: fixing.ts, v2: v2.ts) is a registered implementation of these; no engine imports another.
import type { AuditColumns, ObservationColumns } from './columns.js';
import type { Methodology } from './params.js';

export interface ObservationInput {
  /** Storage ids, carried into the audit rows; they never enter the input digest. */
  observationId: number;
  snapshotId: number;
  /** sha256 of the raw snapshot body: identifies the input across databases. */
  snapshotSha256: string;
  seq: number;
  venue: string;
  fetchedAt: number;
  listingId: string;
  gpuRaw: string;
  gpuCount: number;
  priceUsdPerHour: number;
  contract: 'on_demand' | 'interruptible' | 'reserved';
  available: boolean;
  perfSystem: string | null;
  perfScorePerGpu: number | null;
  /** Provenance of the snapshot: `http` (collected) or `file` (imported). Methodology v2 admits venues by it. */
  source?: 'http' | 'file';
  /** The venue's host (or machine) identity, where it gives one. */
  hostId?: string | null;
  /** Whether the venue reported the GPU quantity (false: the venue's configured default). */
  quantityReported?: boolean;
  /** The physical machine, where the venue gives it: offers of one machine overlap (methodology v2 counts its GPUs once). */
  machineId?: string | null;
  /** Memory per GPU in GB, where the venue reports it: methodology v2 maps a name shared by several memory sizes by it. */
  gpuMemoryGb?: number | null;
}

/** A parsed snapshot's venue and instant; its distinct instants set the time weights (step 5). */
export interface SnapshotTime {
  venue: string;
  fetchedAt: number;
}

/** Why an input is not in a fixing. The order is that of the audit columns' codes (columns.ts): append only. */
export const EXCLUSION_REASONS = [
  'unmapped_gpu',
  'duplicate',
  'not_available',
  'wrong_contract',
  'invalid_price',
  'price_out_of_band',
  'outlier',
  'no_tflops',
  // Methodology v2 (see METHODOLOGY.md, version 2):
  'venue_not_admitted',
  'provenance_mismatch',
  'list_price_unweighted',
  'bid_above_ask',
  'not_persistent',
  'memory_ambiguous',
  'memory_mismatch',
] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

/** `list_price_tier`: methodology v2's lower tier, from list prices alone, when no volume-weighted value can be made. */
export type FixingStatus = 'normal' | 'extended_window' | 'carried_forward' | 'insufficient' | 'list_price_tier';

/** One audit row as an object (the engines hold them as columns: `AuditColumns`; `auditRows` makes these). */
export interface AuditRow {
  input: ObservationInput;
  classCode: string | null;
  p: number | null;
  f: number | null;
  q: number | null;
  w: number | null;
  wCapped: number | null;
  reason: ExclusionReason | null;
}

export interface VenueShare {
  venue: string;
  share: number;
  capped_share: number;
}

export interface FixingRecord {
  series: string;
  date: string;
  status: FixingStatus;
  unit: string;
  value: number | null;
  vwap: number | null;
  percentiles: Record<string, number> | null;
  min: number | null;
  max: number | null;
  listings: number;
  venues: number;
  observations_included: number;
  volume: number;
  excluded: Record<string, number>;
  carried_from: string | null;
  window: { from: string; to: string };
  methodology_version: string;
  parameter_hash: string;
  input_digest: string;
  /** Methodology v2: admitted venues present with included inputs, of those admitted on the date; hours; volume against its trailing mean. */
  coverage?: {
    venues_present: number;
    venues_admitted: number;
    partitions_sufficient: number;
    partitions: number;
    volume_vs_trailing_mean: number | null;
    trailing_days: number;
  };
  /** Methodology v2: a venue that usually carries a large share of the series is missing today. */
  degraded?: boolean;
  missing_venues?: string[];
}

/** One earlier volume-weighted fixing of a series: what v2's coverage and degraded flag compare today with. */
export interface HistoryPoint {
  date: string;
  /** The methodology version it was published under: v2 compares only with its own version (V2-9). */
  methodology_version: string;
  volume: number;
  /** Each venue's share of the fixing's volume (before the caps). */
  venue_shares: Record<string, number>;
}

export interface FixingEvidence {
  venue_shares: VenueShare[];
  venue_cap: number | null;
  outlier: { median_ln: number; mad: number; lower: number; upper: number } | null;
  /** Methodology v2: the fence's centre from venue medians, and each hourly partition's value. */
  fence?: { venue_medians: { venue: string; median: number }[]; centre: number; dispersion: number; lower: number; upper: number } | null;
  partitions?: { from: string; value: number | null; listings: number; venues: number }[];
}

export interface FixingResult {
  record: FixingRecord;
  evidence: FixingEvidence;
  /** Every input the fixing considered, with its outcome and weights, in canonical input order. */
  audit: AuditColumns;
}

export interface PreviousValue {
  date: string;
  value: number;
}

export interface FixingRequest {
  methodology: Methodology;
  /** UTC date, YYYY-MM-DD. */
  date: string;
  /** Observations and parsed-snapshot instants covering at least the extended window [D-(k-1), D+1): as columns (storage and replay build them), or as objects in any order. */
  observations: ObservationColumns | readonly ObservationInput[];
  /**
   * The extended window's observations given apart, so that a caller reads the days before only for a series that
   * needs them: `observations` then covers the day [D, D+1) alone; `observations()` here (called at most once)
   * gives the whole extended window [D-(k-1), D+1), the day included; `names` lists, for that whole window, each
   * venue's raw GPU names with the memory per GPU they came with (what tells which classes it holds).
   */
  extended?: {
    observations: () => ObservationColumns | readonly ObservationInput[];
    names: readonly { venue: string; gpuRaw: string; gpuMemoryGb: number | null }[];
  };
  snapshots: readonly SnapshotTime[];
  /** Latest earlier published value per series, for carrying forward. */
  previous: ReadonlyMap<string, PreviousValue>;
  /** Only these series (default: every series). */
  series?: readonly string[];
  /** Methodology v2: per series, its volume-weighted fixings of the trailing `coverage_days` dates, oldest first, as published before this run. */
  history?: ReadonlyMap<string, readonly HistoryPoint[]>;
}
