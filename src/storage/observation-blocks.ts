// Each parsed snapshot's observations (its listings, as parsing made them) stored as one columnar block, compressed,
// instead of a SQL row per observation: ingest writes one row per snapshot, and a fixing reads a window of millions
// of observations as a few thousand blocks. Observation ids stay what they were: each snapshot's observations are
// numbered consecutively from the block's first id, in position order. The byte layout is in methodology/AUDIT.md.
import { brotliDecompressSync } from 'node:zlib';
import { brotli } from './brotli.js';
import type { Db } from './db.js';
import type { Observation, ObservationBlocksTable, ParsedObservation } from './schema.js';

const MAGIC = 'GPO1';
/**
 * Brotli quality of the blocks, measured on a Vast-shaped snapshot of 2,000 observations (134 KB as columns):
 * quality 1 keeps 20.3% in 0.6 ms, quality 4 14.6% in 1.3 ms, quality 5 13.9% in 2.7 ms (bench/storage).
 */
export const OBSERVATION_BROTLI_QUALITY = 4;

const FLOATS = ['gpuCount', 'price', 'perfScore', 'memory'] as const;
const INTS = ['idOffset', 'seq', 'listingId', 'hostId', 'gpuRaw', 'contract', 'perfSystem', 'region', 'machineId'] as const;
/** Bits of the flags byte. */
const AVAILABLE = 1;
const QUANTITY_REPORTED = 2;
const HAS_PERF_SCORE = 4;
const HAS_MEMORY = 8;

/** A snapshot's observations as columns, in position order; strings index `strings` (-1: null). */
export interface ObservationBlock {
  length: number;
  strings: readonly string[];
  /** Each observation's id less the block's first id. */
  idOffset: Int32Array;
  seq: Int32Array;
  listingId: Int32Array;
  hostId: Int32Array;
  gpuRaw: Int32Array;
  contract: Int32Array;
  perfSystem: Int32Array;
  region: Int32Array;
  machineId: Int32Array;
  gpuCount: Float64Array;
  price: Float64Array;
  /** Meaningful where the flags say it is present. */
  perfScore: Float64Array;
  memory: Float64Array;
  flags: Uint8Array;
}

const int32 = (x: number, what: string) => {
  if ((x | 0) !== x) throw new RangeError(`${what} ${x} is not a 32-bit integer`);
  return x;
};

/** The uncompressed block of a snapshot's observations (ids are `idOffsets[k]` after the block's first id; by default k). */
export function observationBlockBytes(rows: readonly ParsedObservation[], idOffsets?: readonly number[]): Buffer {
  const n = rows.length;
  const strings: string[] = [];
  const ids = new Map<string, number>();
  const id = (s: string | null | undefined) => {
    if (s == null) return -1;
    let k = ids.get(s);
    if (k === undefined) ids.set(s, (k = strings.push(s) - 1));
    return k;
  };
  const ints = Object.fromEntries(INTS.map((c) => [c, new Int32Array(n)])) as Record<(typeof INTS)[number], Int32Array>;
  const floats = Object.fromEntries(FLOATS.map((c) => [c, new Float64Array(n)])) as Record<(typeof FLOATS)[number], Float64Array>;
  const flags = new Uint8Array(n);
  rows.forEach((o, k) => {
    ints.idOffset[k] = int32(idOffsets ? idOffsets[k]! : k, 'observation id offset');
    ints.seq[k] = int32(o.seq, 'position');
    ints.listingId[k] = id(o.listing_id);
    ints.hostId[k] = id(o.host_id);
    ints.gpuRaw[k] = id(o.gpu_raw);
    ints.contract[k] = id(o.contract);
    ints.perfSystem[k] = id(o.perf_system);
    ints.region[k] = id(o.region);
    ints.machineId[k] = id(o.machine_id);
    floats.gpuCount[k] = o.gpu_count;
    floats.price[k] = o.price_usd_per_hour;
    floats.perfScore[k] = o.perf_score_per_gpu ?? 0;
    floats.memory[k] = o.gpu_memory_gb ?? 0;
    flags[k] =
      (o.available === 1 ? AVAILABLE : 0) |
      (o.quantity_reported === 1 ? QUANTITY_REPORTED : 0) |
      (o.perf_score_per_gpu != null ? HAS_PERF_SCORE : 0) |
      (o.gpu_memory_gb != null ? HAS_MEMORY : 0);
  });
  const header = Buffer.from(JSON.stringify({ rows: n, strings }), 'utf8');
  const start = Math.ceil((8 + header.length) / 8) * 8;
  const out = Buffer.alloc(start + n * (FLOATS.length * 8 + INTS.length * 4 + 1));
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(header.length, 4);
  header.copy(out, 8);
  let at = start;
  for (const c of FLOATS) {
    new Float64Array(out.buffer, out.byteOffset + at, n).set(floats[c]);
    at += n * 8;
  }
  for (const c of INTS) {
    new Int32Array(out.buffer, out.byteOffset + at, n).set(ints[c]);
    at += n * 4;
  }
  out.set(flags, at);
  return out;
}

/** A stored block's columns; throws on bytes that are not one (see `readObservationBlock` for the reason as a value). */
export function decodeObservationBlock(data: Buffer): ObservationBlock {
  if (data.length < 8 || data.toString('latin1', 0, 4) !== MAGIC) throw new Error('not an observation block');
  const headerLength = data.readUInt32LE(4);
  const header = JSON.parse(data.toString('utf8', 8, 8 + headerLength)) as { rows: number; strings: string[] };
  const n = header.rows;
  const start = Math.ceil((8 + headerLength) / 8) * 8;
  if (!Number.isInteger(n) || n < 0 || data.length !== start + n * (FLOATS.length * 8 + INTS.length * 4 + 1))
    throw new Error('observation block of the wrong size');
  // Copied out of the buffer so that every column is aligned whatever the buffer's offset.
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length).slice(start);
  const block = { length: n, strings: header.strings } as unknown as Record<string, unknown>;
  let at = 0;
  for (const c of FLOATS) {
    block[c] = new Float64Array(bytes.buffer, at, n);
    at += n * 8;
  }
  for (const c of INTS) {
    block[c] = new Int32Array(bytes.buffer, at, n);
    at += n * 4;
  }
  block.flags = bytes.subarray(at, at + n);
  return block as unknown as ObservationBlock;
}

/** A block ready to store. */
export interface EncodedObservationBlock {
  row_count: number;
  gpu_names: string;
  encoding: 'br';
  data: Buffer;
}

/** One raw GPU name of a snapshot's observations, with the memory per GPU it came with, and how many had both. */
export type GpuName = [gpu_raw: string, gpu_memory_gb: number | null, observations: number];

/**
 * A block's summary beside it: each distinct (raw name, memory) pair with its count, sorted, as JSON. What a fixing
 * needs to know which classes a window holds, and the unmapped-names report, without decoding any block.
 */
export function gpuNamesOf(rows: Iterable<Pick<ParsedObservation, 'gpu_raw' | 'gpu_memory_gb'>>): string {
  // Counted under a cheap key; sorted by each pair's JSON text, as the summary has always been.
  const counts = new Map<string, GpuName>();
  for (const o of rows) {
    const memory = o.gpu_memory_gb ?? null;
    const key = `${memory}\u0000${o.gpu_raw}`;
    const entry = counts.get(key);
    if (entry) entry[2] += 1;
    else counts.set(key, [o.gpu_raw, memory, 1]);
  }
  const sorted = [...counts.values()].map((e) => [JSON.stringify([e[0], e[1]]), e] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify(sorted.map(([, e]) => e));
}

/** A snapshot's observations, compressed (a large block on the thread pool, while the caller hashes). */
export async function encodeObservations(rows: readonly ParsedObservation[]): Promise<EncodedObservationBlock> {
  const raw = observationBlockBytes(rows);
  const data = await brotli(raw, OBSERVATION_BROTLI_QUALITY);
  return { row_count: rows.length, gpu_names: gpuNamesOf(rows), encoding: 'br', data };
}

/** A stored block, decoded, or why it cannot be. */
export type ReadObservationBlock = { ok: true; block: ObservationBlock } | { ok: false; reason: string };

/** Decodes a stored block, bounded by its recorded row count (a forged block cannot inflate past it). */
export function readObservationBlock(stored: { encoding: string; row_count: number; data: Buffer }): ReadObservationBlock {
  if (stored.encoding !== 'br') return { ok: false, reason: `unknown encoding ${stored.encoding}` };
  let raw: Buffer;
  try {
    raw = brotliDecompressSync(stored.data, { maxOutputLength: stored.row_count * (FLOATS.length * 8 + INTS.length * 4 + 1) + (1 << 24) });
  } catch (err) {
    return { ok: false, reason: `does not decompress (${(err as Error).message})` };
  }
  try {
    const block = decodeObservationBlock(raw);
    if (block.length !== stored.row_count) return { ok: false, reason: `holds ${block.length} observations, recorded as ${stored.row_count}` };
    return { ok: true, block };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/** Thrown by readers that cannot go on without a snapshot's observations; verify reports it as a problem instead. */
export class ObservationBlockError extends Error {
  constructor(
    readonly snapshotId: number,
    readonly reason: string,
  ) {
    super(`the observations of snapshot ${snapshotId} cannot be read: their block ${reason} (see gpuidx verify)`);
    this.name = 'ObservationBlockError';
  }
}

/** Observation k of a block as a row. */
export function observationAt(b: ObservationBlock, k: number, snapshotId: number, firstId: number): Observation {
  const str = (i: number) => (i < 0 ? null : b.strings[i]!);
  const flags = b.flags[k]!;
  return {
    id: firstId + b.idOffset[k]!,
    snapshot_id: snapshotId,
    seq: b.seq[k]!,
    listing_id: b.strings[b.listingId[k]!]!,
    host_id: str(b.hostId[k]!),
    gpu_raw: b.strings[b.gpuRaw[k]!]!,
    gpu_count: b.gpuCount[k]!,
    price_usd_per_hour: b.price[k]!,
    contract: b.strings[b.contract[k]!]! as Observation['contract'],
    available: flags & AVAILABLE ? 1 : 0,
    perf_system: str(b.perfSystem[k]!),
    perf_score_per_gpu: flags & HAS_PERF_SCORE ? b.perfScore[k]! : null,
    region: str(b.region[k]!),
    quantity_reported: flags & QUANTITY_REPORTED ? 1 : 0,
    machine_id: str(b.machineId[k]!),
    gpu_memory_gb: flags & HAS_MEMORY ? b.memory[k]! : null,
  };
}

/** Whether observation k of a block reported a benchmark score, a memory, availability, a quantity. */
export const observationFlags = { AVAILABLE, QUANTITY_REPORTED, HAS_PERF_SCORE, HAS_MEMORY } as const;

/** The id the next snapshot's first observation gets: one past the newest block's last. */
export async function nextObservationId(trx: Db): Promise<number> {
  const r = await trx
    .selectFrom('observation_blocks')
    .select(['first_observation_id', 'row_count'])
    .orderBy('first_observation_id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? r.first_observation_id + r.row_count : 1;
}

/** Stores a snapshot's observation block (inside the snapshot's transaction). */
export async function insertObservationBlock(trx: Db, snapshotId: number, firstObservationId: number, block: EncodedObservationBlock): Promise<void> {
  await trx
    .insertInto('observation_blocks')
    .values({ snapshot_id: snapshotId, first_observation_id: firstObservationId, ...block })
    .execute();
}

/** A snapshot's observation block as stored (compressed). */
export type StoredObservationBlock = Pick<ObservationBlocksTable, 'snapshot_id' | 'first_observation_id' | 'row_count' | 'encoding' | 'data'>;

/** Snapshots' observation blocks as stored, compressed, for a list of snapshot ids (a bounded IN list per query). */
export async function* observationBlockRows(db: Db, snapshotIds: readonly number[]): AsyncGenerator<StoredObservationBlock> {
  for (let i = 0; i < snapshotIds.length; i += 100) {
    yield* await db
      .selectFrom('observation_blocks')
      .select(['snapshot_id', 'first_observation_id', 'row_count', 'encoding', 'data'])
      .where('snapshot_id', 'in', snapshotIds.slice(i, i + 100))
      .execute();
  }
}

/** Snapshots' observation blocks, decoded, for a list of snapshot ids. */
export async function* storedObservationBlocks(
  db: Db,
  snapshotIds: readonly number[],
): AsyncGenerator<{ snapshotId: number; firstId: number; read: ReadObservationBlock }> {
  for await (const r of observationBlockRows(db, snapshotIds))
    yield { snapshotId: r.snapshot_id, firstId: r.first_observation_id, read: readObservationBlock(r) };
}

/** Every stored block in observation-id order, decoded one page at a time, with the summary stored beside it (verify). */
export async function* everyObservationBlock(
  db: Db,
): AsyncGenerator<{ snapshotId: number; firstId: number; rowCount: number; gpuNames: string; read: ReadObservationBlock }> {
  let after = 0;
  for (;;) {
    const page = await db
      .selectFrom('observation_blocks')
      .select(['snapshot_id', 'first_observation_id', 'row_count', 'gpu_names', 'encoding', 'data'])
      .where('first_observation_id', '>', after)
      .orderBy('first_observation_id')
      .limit(100)
      .execute();
    for (const r of page)
      yield { snapshotId: r.snapshot_id, firstId: r.first_observation_id, rowCount: r.row_count, gpuNames: r.gpu_names, read: readObservationBlock(r) };
    const last = page[page.length - 1];
    if (!last || page.length < 100) return;
    after = last.first_observation_id;
  }
}

/** The raw GPU names of a decoded block, one entry per observation (to check its stored summary). */
export function* blockGpuNames(b: ObservationBlock): Generator<Pick<ParsedObservation, 'gpu_raw' | 'gpu_memory_gb'>> {
  for (let k = 0; k < b.length; k++) yield { gpu_raw: b.strings[b.gpuRaw[k]!]!, gpu_memory_gb: b.flags[k]! & HAS_MEMORY ? b.memory[k]! : null };
}

/** Snapshots whose parse accepted rows but which have no observation block. */
export async function snapshotsMissingObservations(db: Db): Promise<number[]> {
  const rows = await db
    .selectFrom('snapshots')
    .leftJoin('observation_blocks', 'observation_blocks.snapshot_id', 'snapshots.id')
    .select('snapshots.id')
    .where('snapshots.parse_outcome', 'in', ['ok', 'partial'])
    .where('snapshots.rows_accepted', '>', 0)
    .where('observation_blocks.snapshot_id', 'is', null)
    .orderBy('snapshots.id')
    .execute();
  return rows.map((r) => r.id);
}

/** The observations of one snapshot as rows, in position order (empty when it has none). */
export async function observationsOf(db: Db, snapshotId: number): Promise<Observation[]> {
  const out: Observation[] = [];
  for await (const { firstId, read } of storedObservationBlocks(db, [snapshotId])) {
    if (!read.ok) throw new ObservationBlockError(snapshotId, read.reason);
    for (let k = 0; k < read.block.length; k++) out.push(observationAt(read.block, k, snapshotId, firstId));
  }
  return out;
}

/** Every stored observation as rows, snapshot by snapshot (tests and reports over a small database). */
export async function allObservations(db: Db): Promise<Observation[]> {
  const ids = await db.selectFrom('observation_blocks').select('snapshot_id').orderBy('snapshot_id').execute();
  const out: Observation[] = [];
  for (const { snapshot_id } of ids) out.push(...(await observationsOf(db, snapshot_id)));
  return out;
}
