// A fixing's audit rows, stored compactly: blocks of up to 65,536 rows in observation-id order, each a columnar
// binary block compressed with brotli, instead of a SQL row per input (a day holds millions of them). The rows'
// canonical form has a sha256 that the signed document of the revision carries (`audit_sha256`), so an edited
// block is evident without a replay. Both byte layouts are specified in methodology/AUDIT.md ("Audit blocks").
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import type { Db } from './db.js';

/** Rows per block: a page of the audit API decodes one or two blocks, a day's largest audit a few dozen. */
export const AUDIT_BLOCK_ROWS = 65_536;
/**
 * Brotli quality 4 with a 1 MiB window, measured on a day's audit of 2,064,536 rows (bench/fixing's day, 140 MB as
 * columns): stored in 12.1 MB, as with the default 4 MiB window (12.0 MB) but with a third less memory for the
 * encoder; a 256 KiB window stores 16.8 MB, quality 5 with it 14.2 MB, gzip level 6 15.6 MB.
 */
export const AUDIT_BROTLI_QUALITY = 4;
export const AUDIT_BROTLI_WINDOW_BITS = 20;
const MAGIC = 'GPA1';

/** A fixing's audit rows as columns, in observation-id order. Strings (classes, outcomes) index small dictionaries. */
export interface AuditRowColumns {
  length: number;
  observationId: Float64Array;
  snapshotId: Float64Array;
  /** The observation's position in its snapshot: with the snapshot, its identity across databases. */
  seq: Float64Array;
  classes: readonly string[];
  /** Index into `classes`; -1: no class. */
  cls: Int16Array;
  outcomes: readonly string[];
  /** Index into `outcomes` (`included` or an exclusion reason). */
  outcome: Uint8Array;
  /** Bit 0: p present, 1: f, 2: q, 3: w, 4: w_capped. */
  present: Uint8Array;
  p: Float64Array;
  f: Float64Array;
  q: Float64Array;
  w: Float64Array;
  wCapped: Float64Array;
}

/** One audit row as an object: what the API pages and bundles carry. */
export interface AuditRowValues {
  /** The database's own id of the observation: the audit's order, and part of its signed hash. */
  observation_id: number;
  snapshot_id: number;
  /** The observation's position in its snapshot. */
  seq: number;
  class: string | null;
  reason: string | null;
  p: number | null;
  f: number | null;
  q: number | null;
  w: number | null;
  w_capped: number | null;
}

const FLOATS = ['observationId', 'snapshotId', 'seq', 'p', 'f', 'q', 'w', 'wCapped'] as const;
export const PRESENT = { p: 1, f: 2, q: 4, w: 8, wCapped: 16 } as const;

/** Empty columns for n rows, to be filled in observation-id order. */
export function auditRowColumns(n: number, classes: readonly string[], outcomes: readonly string[]): AuditRowColumns {
  return {
    length: n,
    observationId: new Float64Array(n),
    snapshotId: new Float64Array(n),
    seq: new Float64Array(n),
    classes,
    cls: new Int16Array(n),
    outcomes,
    outcome: new Uint8Array(n),
    present: new Uint8Array(n),
    p: new Float64Array(n),
    f: new Float64Array(n),
    q: new Float64Array(n),
    w: new Float64Array(n),
    wCapped: new Float64Array(n),
  };
}

/** Row k as an object. */
export function auditRowAt(a: AuditRowColumns, k: number): AuditRowValues {
  const has = a.present[k]!;
  const outcome = a.outcomes[a.outcome[k]!]!;
  return {
    observation_id: a.observationId[k]!,
    snapshot_id: a.snapshotId[k]!,
    seq: a.seq[k]!,
    class: a.cls[k]! < 0 ? null : a.classes[a.cls[k]!]!,
    reason: outcome === 'included' ? null : outcome,
    p: has & PRESENT.p ? a.p[k]! : null,
    f: has & PRESENT.f ? a.f[k]! : null,
    q: has & PRESENT.q ? a.q[k]! : null,
    w: has & PRESENT.w ? a.w[k]! : null,
    w_capped: has & PRESENT.wCapped ? a.wCapped[k]! : null,
  };
}

/** Columns of rows given as objects (a bundle's audit), in the order given. */
export function auditColumnsOfRows(rows: readonly AuditRowValues[]): AuditRowColumns {
  const classes = [...new Set(rows.map((r) => r.class).filter((c): c is string => c !== null))];
  const outcomes = [...new Set(rows.map((r) => r.reason ?? 'included'))];
  const a = auditRowColumns(rows.length, classes, outcomes);
  rows.forEach((r, k) => {
    a.observationId[k] = r.observation_id;
    a.snapshotId[k] = r.snapshot_id;
    a.seq[k] = r.seq;
    a.cls[k] = r.class === null ? -1 : classes.indexOf(r.class);
    a.outcome[k] = outcomes.indexOf(r.reason ?? 'included');
    let has = 0;
    for (const [field, bit] of [
      ['p', PRESENT.p],
      ['f', PRESENT.f],
      ['q', PRESENT.q],
      ['w', PRESENT.w],
      ['w_capped', PRESENT.wCapped],
    ] as const) {
      const v = r[field];
      if (v !== null) {
        has |= bit;
        a[field === 'w_capped' ? 'wCapped' : field][k] = v;
      }
    }
    a.present[k] = has;
  });
  return a;
}

/**
 * sha256 of the rows' canonical form: for each row in order, observation_id, snapshot_id and seq as little-endian
 * doubles; the class and the outcome each as a byte length (0: no class) and its UTF-8 bytes; the presence byte;
 * then each present value of p, f, q, w, w_capped as a little-endian double. The same from columns, from stored
 * blocks (fed one after another) and from a bundle's rows.
 */
export class AuditHasher {
  readonly #hash = createHash('sha256');
  readonly #buf = Buffer.allocUnsafe(1 << 20);
  readonly #view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  #pos = 0;

  add(a: AuditRowColumns): this {
    const classBytes = a.classes.map((s) => Buffer.from(s, 'utf8'));
    const outcomeBytes = a.outcomes.map((s) => Buffer.from(s, 'utf8'));
    for (const b of [...classBytes, ...outcomeBytes]) if (b.length === 0 || b.length > 255) throw new RangeError('audit strings are 1 to 255 bytes');
    const buf = this.#buf;
    const view = this.#view;
    let pos = this.#pos;
    const putString = (b: Buffer | undefined) => {
      if (!b) buf[pos++] = 0;
      else {
        buf[pos++] = b.length;
        b.copy(buf, pos);
        pos += b.length;
      }
    };
    const putDouble = (x: number) => {
      view.setFloat64(pos, x, true);
      pos += 8;
    };
    for (let k = 0; k < a.length; k++) {
      // A row is at most 3 x 8 + 2 x 256 + 1 + 5 x 8 bytes.
      if (pos > buf.length - 600) {
        this.#hash.update(buf.subarray(0, pos));
        pos = 0;
      }
      putDouble(a.observationId[k]!);
      putDouble(a.snapshotId[k]!);
      putDouble(a.seq[k]!);
      putString(a.cls[k]! < 0 ? undefined : classBytes[a.cls[k]!]);
      putString(outcomeBytes[a.outcome[k]!]);
      const has = a.present[k]!;
      buf[pos++] = has;
      if (has & PRESENT.p) putDouble(a.p[k]!);
      if (has & PRESENT.f) putDouble(a.f[k]!);
      if (has & PRESENT.q) putDouble(a.q[k]!);
      if (has & PRESENT.w) putDouble(a.w[k]!);
      if (has & PRESENT.wCapped) putDouble(a.wCapped[k]!);
    }
    this.#pos = pos;
    return this;
  }

  digest(): string {
    this.#hash.update(this.#buf.subarray(0, this.#pos));
    return this.#hash.digest('hex');
  }
}

export const auditSha256 = (a: AuditRowColumns): string => new AuditHasher().add(a).digest();

/** A block ready to store. */
export interface EncodedAuditBlock {
  block: number;
  row_count: number;
  first_observation_id: number;
  last_observation_id: number;
  encoding: 'br';
  data: Buffer;
}

/** A fixing's audit, encoded: its blocks and the sha256 of its rows' canonical form. */
export interface EncodedAudit {
  rows: number;
  sha256: string;
  blocks: EncodedAuditBlock[];
}

if (endianness() !== 'LE') throw new Error('gpuidx audit blocks are little-endian typed arrays; this platform is big-endian');

/** Rows [from, to) as one uncompressed block (the layout of AUDIT.md: magic, header, then the columns). */
export function blockBytes(a: AuditRowColumns, from: number, to: number): Buffer {
  const n = to - from;
  // Only the dictionary entries the block uses, in order of first use, so that a block reads alone.
  const classes: string[] = [];
  const classIndex = new Map<number, number>();
  const outcomes: string[] = [];
  const outcomeIndex = new Map<number, number>();
  for (let k = from; k < to; k++) {
    const c = a.cls[k]!;
    if (c >= 0 && !classIndex.has(c)) classIndex.set(c, classes.push(a.classes[c]!) - 1);
    const o = a.outcome[k]!;
    if (!outcomeIndex.has(o)) outcomeIndex.set(o, outcomes.push(a.outcomes[o]!) - 1);
  }
  const header = Buffer.from(JSON.stringify({ rows: n, classes, outcomes }), 'utf8');
  const headerEnd = 8 + header.length;
  const start = Math.ceil(headerEnd / 8) * 8;
  const out = Buffer.alloc(start + n * (FLOATS.length * 8 + 2 + 1 + 1));
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(header.length, 4);
  header.copy(out, 8);
  let at = start;
  for (const name of FLOATS) {
    new Float64Array(out.buffer, out.byteOffset + at, n).set(a[name].subarray(from, to));
    at += n * 8;
  }
  const cls = new Int16Array(out.buffer, out.byteOffset + at, n);
  for (let k = 0; k < n; k++) cls[k] = a.cls[from + k]! < 0 ? -1 : classIndex.get(a.cls[from + k]!)!;
  at += n * 2;
  for (let k = 0; k < n; k++) out[at + k] = outcomeIndex.get(a.outcome[from + k]!)!;
  at += n;
  out.set(a.present.subarray(from, to), at);
  return out;
}

/** A stored block's columns. Throws on bytes that are not a block (see `readAuditBlock` for the reason as a value). */
export function decodeBlock(data: Buffer): AuditRowColumns {
  if (data.length < 8 || data.toString('latin1', 0, 4) !== MAGIC) throw new Error('not an audit block');
  const headerLength = data.readUInt32LE(4);
  const header = JSON.parse(data.toString('utf8', 8, 8 + headerLength)) as { rows: number; classes: string[]; outcomes: string[] };
  const n = header.rows;
  const start = Math.ceil((8 + headerLength) / 8) * 8;
  if (!Number.isInteger(n) || n < 0 || data.length !== start + n * (FLOATS.length * 8 + 4)) throw new Error('audit block of the wrong size');
  // Copied out of the buffer so that every column is aligned whatever the buffer's offset.
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length).slice(start);
  const a = auditRowColumns(n, header.classes, header.outcomes);
  let at = 0;
  for (const name of FLOATS) {
    (a as unknown as Record<string, Float64Array>)[name] = new Float64Array(bytes.buffer, at, n);
    at += n * 8;
  }
  a.cls = new Int16Array(bytes.buffer, at, n);
  at += n * 2;
  a.outcome = bytes.subarray(at, at + n);
  at += n;
  a.present = bytes.subarray(at, at + n);
  return a;
}

/**
 * Encodes a fixing's audit of `rows` rows, given block by block in observation-id order by `block(from, to)` (so
 * that a large audit is never copied whole): its canonical sha256 and its blocks, each compressed as soon as it is
 * made, so that one block's uncompressed bytes are held at a time. (Compressing them on the thread pool while the
 * next series was computed took no less time on two cores, and held every block's bytes and four encoders at
 * once: 45 MB more at the peak of a 1M-observation day.)
 */
export function encodeAudit(rows: number, block: (from: number, to: number) => AuditRowColumns): EncodedAudit {
  const hasher = new AuditHasher();
  const blocks: EncodedAuditBlock[] = [];
  for (let from = 0, index = 0; from < rows; from += AUDIT_BLOCK_ROWS, index++) {
    const to = Math.min(from + AUDIT_BLOCK_ROWS, rows);
    const part = block(from, to);
    hasher.add(part);
    const raw = blockBytes(part, 0, part.length);
    const data = brotliCompressSync(raw, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: AUDIT_BROTLI_QUALITY,
        [constants.BROTLI_PARAM_LGWIN]: AUDIT_BROTLI_WINDOW_BITS,
        [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
      },
    });
    blocks.push({
      block: index,
      row_count: to - from,
      first_observation_id: part.observationId[0]!,
      last_observation_id: part.observationId[part.length - 1]!,
      encoding: 'br',
      data,
    });
  }
  return { rows, sha256: hasher.digest(), blocks };
}

/** A fixing's audit, encoded for storage. */
export interface EncodedAudit {
  rows: number;
  sha256: string;
  blocks: EncodedAuditBlock[];
}

/** `encodeAudit` of rows held whole (tests, and callers that have them so). */
export function encodeAuditRows(a: AuditRowColumns): EncodedAudit {
  return encodeAudit(a.length, (from, to) => sliceRows(a, from, to));
}

/** Rows [from, to) of columns, as columns (views, not copies). */
function sliceRows(a: AuditRowColumns, from: number, to: number): AuditRowColumns {
  return {
    length: to - from,
    observationId: a.observationId.subarray(from, to),
    snapshotId: a.snapshotId.subarray(from, to),
    seq: a.seq.subarray(from, to),
    classes: a.classes,
    cls: a.cls.subarray(from, to),
    outcomes: a.outcomes,
    outcome: a.outcome.subarray(from, to),
    present: a.present.subarray(from, to),
    p: a.p.subarray(from, to),
    f: a.f.subarray(from, to),
    q: a.q.subarray(from, to),
    w: a.w.subarray(from, to),
    wCapped: a.wCapped.subarray(from, to),
  };
}

/** Whether rows [0, n) ascend by observation id. */
export function inObservationOrder(a: AuditRowColumns): boolean {
  for (let k = 1; k < a.length; k++) if (!(a.observationId[k - 1]! < a.observationId[k]!)) return false;
  return true;
}

/** A stored block, decoded, or why it cannot be. */
export type ReadBlock = { ok: true; rows: AuditRowColumns } | { ok: false; reason: string };

/** Decodes a stored block, bounded by the row count recorded beside it (a forged block cannot inflate past it). */
export function readAuditBlock(stored: { encoding: string; row_count: number; data: Buffer }): ReadBlock {
  if (stored.encoding !== 'br') return { ok: false, reason: `unknown encoding ${stored.encoding}` };
  let raw: Buffer;
  try {
    // The largest a block of this many rows can be: its columns plus a generous header.
    raw = brotliDecompressSync(stored.data, { maxOutputLength: stored.row_count * (FLOATS.length * 8 + 4) + 65_536 });
  } catch (err) {
    return { ok: false, reason: `does not decompress (${(err as Error).message})` };
  }
  try {
    const rows = decodeBlock(raw);
    if (rows.length !== stored.row_count) return { ok: false, reason: `holds ${rows.length} rows, recorded as ${stored.row_count}` };
    return { ok: true, rows };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/** Thrown by readers that cannot go on without a block (the API, replay, export); verify reports it as a problem instead. */
export class AuditBlockError extends Error {
  constructor(
    readonly fixingId: number,
    readonly block: number,
    readonly reason: string,
  ) {
    super(`the audit of fixing id ${fixingId} cannot be read: block ${block} ${reason} (see gpuidx verify)`);
    this.name = 'AuditBlockError';
  }
}

/** Every stored block of a fixing as stored, each with its decoding or why it has none, in block order (verify). */
export async function* storedAuditBlocks(
  db: Db,
  fixingId: number,
): AsyncGenerator<{ block: number; row_count: number; first_observation_id: number; last_observation_id: number; read: ReadBlock }> {
  const index = await db.selectFrom('fixing_audit').select('block').where('fixing_id', '=', fixingId).orderBy('block').execute();
  for (const { block } of index) {
    const { data, encoding, ...meta } = await db
      .selectFrom('fixing_audit')
      .select(['block', 'row_count', 'first_observation_id', 'last_observation_id', 'encoding', 'data'])
      .where('fixing_id', '=', fixingId)
      .where('block', '=', block)
      .executeTakeFirstOrThrow();
    yield { ...meta, read: readAuditBlock({ encoding, row_count: meta.row_count, data }) };
  }
}

/** Every stored block of a fixing, decoded, in block order (one block in memory at a time). */
export async function* auditBlocks(db: Db, fixingId: number, afterObservationId = Number.MIN_SAFE_INTEGER): AsyncGenerator<AuditRowColumns> {
  const index = await db
    .selectFrom('fixing_audit')
    .select(['block'])
    .where('fixing_id', '=', fixingId)
    .where('last_observation_id', '>', afterObservationId)
    .orderBy('block')
    .execute();
  for (const { block } of index) {
    const stored = await db
      .selectFrom('fixing_audit')
      .select(['encoding', 'row_count', 'data'])
      .where('fixing_id', '=', fixingId)
      .where('block', '=', block)
      .executeTakeFirstOrThrow();
    const read = readAuditBlock(stored);
    if (!read.ok) throw new AuditBlockError(fixingId, block, read.reason);
    yield read.rows;
  }
}

/** Every audit row of a fixing as objects, in observation-id order. */
export async function auditRowsOf(db: Db, fixingId: number): Promise<AuditRowValues[]> {
  const out: AuditRowValues[] = [];
  for await (const block of auditBlocks(db, fixingId)) for (let k = 0; k < block.length; k++) out.push(auditRowAt(block, k));
  return out;
}

/** How many audit rows a fixing has. */
export async function auditRowCount(db: Db, fixingId: number): Promise<number> {
  const r = await db
    .selectFrom('fixing_audit')
    .select((eb) => eb.fn.sum<number>('row_count').as('n'))
    .where('fixing_id', '=', fixingId)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** Stores a fixing's encoded audit blocks (inside the publication's transaction). */
export async function insertAuditBlocks(trx: Db, fixingId: number, blocks: readonly EncodedAuditBlock[]): Promise<void> {
  for (const b of blocks)
    await trx
      .insertInto('fixing_audit')
      .values({ fixing_id: fixingId, ...b })
      .execute();
}
