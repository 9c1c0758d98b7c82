// Brotli compression of what is stored (bodies, observation blocks): small inputs on this thread, large ones on the pool.
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, constants } from 'node:zlib';

const compressOnPool = promisify(brotliCompress);

/**
 * Below this size compressing on this thread costs less than handing the bytes to libuv's thread pool and back:
 * the pool's stream set-up and callbacks take longer than compressing a small input (bench/ingest's `gpuidx import`
 * of 1,150 lines of about 30 KB: 2.0 s with them compressed here, 2.7 s with every one sent to the pool). Above
 * it, the pool keeps a large body from stalling the event loop (the API keeps answering while a collector stores
 * a search).
 */
const POOL_THRESHOLD = 256 * 1024;

/** `bytes` brotli-compressed at `quality`. */
export async function brotli(bytes: Buffer, quality: number): Promise<Buffer> {
  const options = { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength } };
  return bytes.byteLength < POOL_THRESHOLD ? brotliCompressSync(bytes, options) : compressOnPool(bytes, options);
}
