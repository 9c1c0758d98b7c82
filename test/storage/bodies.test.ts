// The stored form of raw bodies: what is compressed, that every body decodes to exactly its original bytes, and that
// a stored form forged to expand beyond its recorded size is refused without expanding it.
import { brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BodyDecodeError, decodeBody, encodeBody } from '../../src/storage/bodies.js';

describe('raw body storage', () => {
  it('keeps a body under 256 bytes as it is, byte for byte', async () => {
    const small = Buffer.from('{"offers":[]}\r\n');
    const stored = await encodeBody(small);
    expect(stored.encoding).toBe('identity');
    expect(stored.data.equals(small)).toBe(true);
    expect((await decodeBody(1, stored, small.length)).equals(small)).toBe(true);
  });

  it('stores a large repetitive body as brotli that a plain brotli decoder reads back to the same bytes', async () => {
    // 2,000 copies of one 38-byte offer, 1,999 commas, and the 11-byte head and 2-byte tail: 78,012 bytes.
    const body = Buffer.from(`{"offers":[${Array(2000).fill('{"id":1,"gpu_name":"H100 SXM","x":0.5}').join(',')}]}`);
    expect(body.length).toBe(11 + 2000 * 38 + 1999 + 2);
    const stored = await encodeBody(body);
    expect(stored.encoding).toBe('br');
    expect(stored.data.length).toBeLessThan(body.length / 50);
    // Decoded by node:zlib directly, not by the code under test: the stored form is standard brotli.
    expect(brotliDecompressSync(stored.data).equals(body)).toBe(true);
    expect((await decodeBody(1, stored, body.length)).equals(body)).toBe(true);
  });

  it('keeps incompressible bytes as they are rather than a larger compressed form', async () => {
    // A deterministic pseudo-random byte sequence (xorshift32): brotli cannot shrink it.
    let x = 2463534242;
    const noise = Buffer.from(
      Uint8Array.from({ length: 4096 }, () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return x & 0xff;
      }),
    );
    const stored = await encodeBody(noise);
    expect(stored.encoding).toBe('identity');
    expect(stored.data.equals(noise)).toBe(true);
  });

  it('refuses a stored form that expands past its recorded size, without expanding it, and one of another size', async () => {
    // 8 MiB of zeros compress to a few dozen bytes: a forged body claiming 10 bytes must not inflate to 8 MiB.
    const bomb = brotliCompressSync(Buffer.alloc(8 << 20));
    expect(bomb.length).toBeLessThan(1024);
    await expect(decodeBody(7, { encoding: 'br', data: bomb }, 10)).rejects.toBeInstanceOf(BodyDecodeError);
    await expect(decodeBody(7, { encoding: 'br', data: bomb }, 10)).rejects.toThrow(/^snapshot 7: stored body cannot be decoded: /);
    const short = brotliCompressSync(Buffer.from('0123456789'.repeat(100)));
    await expect(decodeBody(8, { encoding: 'br', data: short }, 1001)).rejects.toThrow(
      'snapshot 8: stored body cannot be decoded: decodes to 1000 bytes, recorded 1001',
    );
    await expect(decodeBody(9, { encoding: 'identity', data: Buffer.from('abc') }, 4)).rejects.toThrow('decodes to 3 bytes, recorded 4');
  });
});
