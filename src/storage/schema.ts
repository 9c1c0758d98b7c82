// Row types of the gpuidx database, as Kysely sees them. One definition per table; repositories derive from it.
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export type ParseOutcome = 'pending' | 'ok' | 'partial' | 'rejected';
export type RunOutcome = 'running' | 'ok' | 'partial' | 'degraded' | 'failed' | 'skipped';

export interface SnapshotsTable {
  id: Generated<number>;
  venue: string;
  /** UTC epoch milliseconds at which the response (or imported line) was received. */
  fetched_at: number;
  /** `http` for a fetched response, `file` for a line of an imported JSON Lines file. */
  source: string;
  request_method: string;
  /** Request URL with every secret redacted. */
  request_url: string;
  request_body: string | null;
  http_status: number | null;
  content_type: string | null;
  /** sha256 and size of the exact bytes received (at most the configured cap; see `truncated`); the bytes are in `snapshot_bodies`. */
  sha256: string;
  byte_size: number;
  truncated: number;
  /** 1 when one of our own API keys appeared in the body and was replaced before storage (sha256 is of the stored bytes). */
  redacted: number;
  parser_version: string;
  /** JSON of the parser options in force (for example the venue's default quantity), so a replay parses alike. */
  parser_options: string;
  parse_outcome: ColumnType<ParseOutcome, ParseOutcome | undefined, ParseOutcome>;
  parse_error: string | null;
  rows_total: number | null;
  rows_accepted: number | null;
  rows_rejected: number | null;
  rows_ignored: number | null;
  run_id: number | null;
  /** sha256 of the canonical content (BOM, line endings and JSON whitespace removed): the duplicate identity. */
  content_sha256: string | null;
  /** Our clock (UTC ms) when the snapshot was stored; null on snapshots stored before it was recorded. */
  received_at: number | null;
  /** JSON object: the rows the parser ignored, counted per reason (not offered, reservation, ...); null before 2026-12-01. */
  ignored_reasons: ColumnType<string | null, string | null | undefined, string | null>;
}

/** How a body is stored: as received, or brotli-compressed. */
export type BodyEncoding = 'identity' | 'br';

/** The bytes of each snapshot, apart from its metadata, so that no query over snapshots reads them. */
export interface SnapshotBodiesTable {
  snapshot_id: number;
  encoding: BodyEncoding;
  /** The stored form; decoded it is exactly `byte_size` bytes hashing to the snapshot's `sha256`. */
  data: Buffer;
}

/** One observation: a listing as one snapshot showed it. Kept in its snapshot's observation block (observation-blocks.ts). */
export interface Observation {
  /** Consecutive within a snapshot, in position order, from the block's first id. */
  id: number;
  snapshot_id: number;
  /** Position of the listing in its snapshot, so "keep the first" rules are exact. */
  seq: number;
  listing_id: string;
  host_id: string | null;
  gpu_raw: string;
  gpu_count: number;
  price_usd_per_hour: number;
  contract: 'on_demand' | 'interruptible' | 'reserved';
  available: number;
  perf_system: string | null;
  perf_score_per_gpu: number | null;
  region: string | null;
  /** 1 when the venue reported the GPU quantity, 0 when it is the venue's configured default. */
  quantity_reported: number;
  /** The physical machine, where the venue gives it (Vast `machine_id`); null otherwise and before vast/3. */
  machine_id: string | null;
  /** Memory per GPU in GB (1024 MB), where the venue reports it (Vast `gpu_ram`, from parser vast/4); null otherwise. */
  gpu_memory_gb: number | null;
}

type NullableObservationField = 'host_id' | 'perf_system' | 'perf_score_per_gpu' | 'region' | 'machine_id' | 'gpu_memory_gb';
/** An observation as parsing makes it, before it is stored (and numbered). */
export type ParsedObservation = Omit<Observation, 'id' | 'snapshot_id' | NullableObservationField> & Partial<Pick<Observation, NullableObservationField>>;

/** A snapshot's observations, as one compressed columnar block (observation-blocks.ts). */
export interface ObservationBlocksTable {
  snapshot_id: number;
  first_observation_id: number;
  row_count: number;
  /** JSON: each distinct raw GPU name with the memory per GPU it came with (or null) and how many observations had both, sorted. */
  gpu_names: string;
  encoding: string;
  data: Buffer;
}

export interface SnapshotIssuesTable {
  id: Generated<number>;
  snapshot_id: number;
  row_index: number;
  listing_id: string | null;
  code: string;
  detail: string;
}

export interface CollectorRunsTable {
  id: Generated<number>;
  venue: string;
  started_at: number;
  finished_at: number | null;
  attempts: number;
  outcome: RunOutcome;
  error: string | null;
  snapshots: number;
  observations: number;
  /** Why the run is `degraded`: its accepted rows collapsed against the venue's recent runs. */
  warning: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface FixingsTable {
  id: Generated<number>;
  series: string;
  date: string;
  revision: number;
  status: string;
  value: number | null;
  carried_from: string | null;
  methodology_version: string;
  parameter_hash: string;
  input_digest: string;
  software_version: string;
  computed_at: number;
  restatement_reason: string | null;
  previous_input_digest: string | null;
  record: string;
  evidence: string;
  /** JSON array of the parser versions of the snapshots read, sorted. */
  parser_versions: string;
  /** The newest snapshot id the inputs could include: a replay of this revision reads snapshots up to it. */
  inputs_through_snapshot: number | null;
  /** sha256 of the published document of the revision published just before this one (the hash chain). */
  previous_chain_hash: string | null;
  /** Key that signed the revision when it was published, and the base64 Ed25519 signature of its published document. */
  key_id: string | null;
  signature: string | null;
  /** sha256 of the canonical form of the revision's audit rows (audit-blocks.ts), inside its signed document; null before 2026-12-03. */
  audit_sha256: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface SigningKeysTable {
  key_id: string;
  public_key_pem: string;
  /** UTC ms from which the key signs, and until which (exclusive; null while it is the active key). */
  valid_from: number;
  valid_to: number | null;
}

export interface ChainHeadsTable {
  id: Generated<number>;
  fixing_id: number;
  /** sha256 of the canonical published document of the newest revision at the time (the next link it gives). */
  chain_hash: string;
  /** The canonical JSON that was signed. */
  payload: string;
  key_id: string;
  signature: string;
  created_at: number;
}

/** A block of up to 65,536 of a fixing's audit rows, in observation-id order, compressed (audit-blocks.ts). */
export interface FixingAuditTable {
  fixing_id: number;
  block: number;
  row_count: number;
  first_observation_id: number;
  last_observation_id: number;
  encoding: string;
  data: Buffer;
}

export type PublicationOutcome = 'running' | 'ok' | 'failed';

export interface PublicationRunsTable {
  id: Generated<number>;
  /** The date being published (YYYY-MM-DD). */
  date: string;
  /** host:pid of the process that ran it. */
  publisher: string;
  started_at: number;
  finished_at: number | null;
  outcome: PublicationOutcome;
  /** Series published, found unchanged, and refused (inputs differ from the published revision) in the run. */
  published: number;
  unchanged: number;
  refused: number;
  error: string | null;
}

export interface SettlementsTable {
  id: Generated<number>;
  series: string;
  /** YYYY-MM. */
  month: string;
  revision: number;
  status: string;
  value: number | null;
  /** The canonical JSON that was signed: the settlement record with `key_id`. */
  record: string;
  key_id: string;
  signature: string;
  computed_at: number;
}

export interface Database {
  fixings: FixingsTable;
  fixing_audit: FixingAuditTable;
  snapshots: SnapshotsTable;
  snapshot_bodies: SnapshotBodiesTable;
  observation_blocks: ObservationBlocksTable;
  snapshot_issues: SnapshotIssuesTable;
  collector_runs: CollectorRunsTable;
  signing_keys: SigningKeysTable;
  chain_heads: ChainHeadsTable;
  publication_runs: PublicationRunsTable;
  settlements: SettlementsTable;
}

export type Snapshot = Selectable<SnapshotsTable>;
export type NewSnapshot = Insertable<SnapshotsTable>;
export type CollectorRun = Selectable<CollectorRunsTable>;
export type Fixing = Selectable<FixingsTable>;
export type SigningKey = Selectable<SigningKeysTable>;
export type ChainHead = Selectable<ChainHeadsTable>;
export type PublicationRun = Selectable<PublicationRunsTable>;
export type Settlement = Selectable<SettlementsTable>;
