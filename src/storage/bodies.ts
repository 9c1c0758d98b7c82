// Raw snapshot bodies, stored apart from the snapshot metadata that queries scan, and compressed. The snapshot row
// keeps the sha256 and size of the original bytes; every reader gets those original bytes back, byte for byte.
import { promisify } from 'node:util';
import { brotliDecompress } from 'node:zlib';
import { brotli } from './brotli.js';
import type { Db } from './db.js';
import type { BodyEncoding } from './schema.js';

const decompressBrotli = promisify(brotliDecompress);

/**
 * Brotli quality 4, chosen by measurement (bench/storage, a 20,000-offer Vast-shaped body of 55 MB on this
 * machine kind): quality 1 keeps 1/10 of the bytes in 0.24 s, quality 4 keeps 1/14.6 in 1.25 s, quality 5 1/15.5
 * in 1.6 s, quality 9 1/16.9 in 4.4 s. Past quality 4 each step costs more time than the bytes it saves are worth.
 */
export const BROTLI_QUALITY = 4;
/** Below this size compression saves too little to pay for its header and the CPU: kept as sent. */
const MIN_COMPRESSED_SIZE = 256;

export interface EncodedBody {
  encoding: BodyEncoding;
  data: Buffer;
}

/**
 * The bytes as stored: brotli where that is smaller, else the bytes as they are. A large body is compressed on
 * libuv's thread pool (see brotli.ts).
 */
export async function encodeBody(bytes: Buffer): Promise<EncodedBody> {
  if (bytes.byteLength < MIN_COMPRESSED_SIZE) return { encoding: 'identity', data: bytes };
  const data = await brotli(bytes, BROTLI_QUALITY);
  return data.byteLength < bytes.byteLength ? { encoding: 'br', data } : { encoding: 'identity', data: bytes };
}

/** A stored body could not be decoded back to bytes of its recorded size: the store was damaged or forged. */
export class BodyDecodeError extends Error {
  constructor(
    readonly snapshotId: number,
    readonly detail: string,
  ) {
    super(`snapshot ${snapshotId}: stored body cannot be decoded: ${detail}`);
    this.name = 'BodyDecodeError';
  }
}

/** The original bytes of a stored body. A body that does not decode, or decodes to another size, is a BodyDecodeError. */
export async function decodeBody(snapshotId: number, stored: EncodedBody, byteSize: number): Promise<Buffer> {
  let bytes: Buffer;
  try {
    if (stored.encoding === 'identity') bytes = stored.data;
    else if (stored.encoding === 'br') bytes = await decompressBrotli(stored.data, { maxOutputLength: Math.max(byteSize, 1) });
    else throw new Error(`unknown encoding ${String(stored.encoding)}`);
  } catch (err) {
    throw new BodyDecodeError(snapshotId, (err as Error).message);
  }
  if (bytes.byteLength !== byteSize) throw new BodyDecodeError(snapshotId, `decodes to ${bytes.byteLength} bytes, recorded ${byteSize}`);
  return bytes;
}

/** Stores a snapshot's body (inside the caller's transaction, beside the snapshot row). */
export async function insertBody(trx: Db, snapshotId: number, body: EncodedBody): Promise<void> {
  await trx.insertInto('snapshot_bodies').values({ snapshot_id: snapshotId, encoding: body.encoding, data: body.data }).execute();
}

/** Why a snapshot's original bytes cannot be had: no body stored, or a stored form that does not decode (`damaged`). */
export interface UnreadableBody {
  unreadable: string;
  damaged: boolean;
}

/**
 * The original bytes of a stored form (null: none stored), or why they cannot be had. For verify, replay and export
 * a damaged or missing body is a finding to report, not a fault: a value, not an exception.
 */
export async function readStoredBody(snapshotId: number, stored: EncodedBody | null, byteSize: number): Promise<Buffer | UnreadableBody> {
  if (stored === null) return { unreadable: 'no stored body', damaged: false };
  try {
    return await decodeBody(snapshotId, stored, byteSize);
  } catch (err) {
    if (err instanceof BodyDecodeError) return { unreadable: err.detail, damaged: true };
    throw err;
  }
}

/** The original bytes of one snapshot, or why they cannot be had (see readStoredBody). */
export async function readSnapshotBody(db: Db, snapshotId: number): Promise<Buffer | UnreadableBody> {
  const row = await db
    .selectFrom('snapshots as s')
    .leftJoin('snapshot_bodies as b', 'b.snapshot_id', 's.id')
    .select(['b.encoding', 'b.data', 's.byte_size'])
    .where('s.id', '=', snapshotId)
    .executeTakeFirst();
  return readStoredBody(snapshotId, row?.encoding != null && row.data != null ? { encoding: row.encoding, data: row.data } : null, row?.byte_size ?? 0);
}

/** The original bytes of one snapshot; undefined when no such snapshot (or no stored body) exists; a BodyDecodeError when damaged. */
export async function snapshotBody(db: Db, snapshotId: number): Promise<Buffer | undefined> {
  const read = await readSnapshotBody(db, snapshotId);
  if (Buffer.isBuffer(read)) return read;
  if (read.damaged) throw new BodyDecodeError(snapshotId, read.unreadable);
  return undefined;
}

/** How the bodies are stored: count, original bytes and stored bytes per encoding (for `gpuidx verify` and docs). */
export async function bodyStorage(db: Db): Promise<{ encoding: string; bodies: number; original_bytes: number; stored_bytes: number }[]> {
  const rows = await db
    .selectFrom('snapshot_bodies as b')
    .innerJoin('snapshots as s', 's.id', 'b.snapshot_id')
    .select([
      'b.encoding',
      (eb) => eb.fn.countAll<number>().as('n'),
      (eb) => eb.fn.sum<number>('s.byte_size').as('original'),
      (eb) => eb.fn.sum<number>(eb.fn('length', ['b.data'])).as('stored'),
    ])
    .groupBy('b.encoding')
    .orderBy('b.encoding')
    .execute();
  return rows.map((r) => ({ encoding: r.encoding, bodies: Number(r.n), original_bytes: Number(r.original), stored_bytes: Number(r.stored) }));
}
