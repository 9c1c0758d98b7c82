// Audit blocks: rows go in and come out bit for bit across block boundaries, the audit hash is the canonical form
// AUDIT.md states (checked against a second, byte-by-byte implementation of that text), and a forged block is
// refused without being inflated.
import { createHash } from 'node:crypto';
import { brotliCompressSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_BLOCK_ROWS,
  AuditHasher,
  auditColumnsOfRows,
  auditRowAt,
  auditSha256,
  encodeAuditRows,
  readAuditBlock,
  type AuditRowValues,
} from '../../src/storage/index.js';

/** AUDIT.md's canonical form, written out field by field from the text with Buffer writes, then hashed. */
function canonicalHash(rows: readonly AuditRowValues[]): string {
  const parts: Buffer[] = [];
  const double = (x: number) => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(x);
    return b;
  };
  const text = (s: string | null) => (s === null ? Buffer.from([0]) : Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s, 'utf8')]));
  for (const r of rows) {
    parts.push(double(r.observation_id), double(r.snapshot_id), double(r.seq), text(r.class), text(r.reason ?? 'included'));
    const values = [r.p, r.f, r.q, r.w, r.w_capped];
    parts.push(Buffer.from([values.reduce<number>((bits, v, i) => (v === null ? bits : bits | (1 << i)), 0)]));
    for (const v of values) if (v !== null) parts.push(double(v));
  }
  return createHash('sha256').update(Buffer.concat(parts)).digest('hex');
}

const double = fc.oneof(fc.double(), fc.constantFrom(0, -0, 1, 2.5, Number.MIN_VALUE, Number.MAX_VALUE, Number.POSITIVE_INFINITY));
const row = fc.record({
  snapshot_id: fc.integer({ min: 1, max: 5000 }),
  seq: fc.integer({ min: 0, max: 20_000 }),
  class: fc.constantFrom(null, 'H100-SXM', 'A100-SXM-80', 'RTX-4090'),
  reason: fc.constantFrom(null, 'outlier', 'duplicate', 'memory_ambiguous', 'no_tflops'),
  p: fc.option(double),
  f: fc.option(double),
  q: fc.option(double),
  w: fc.option(double),
  w_capped: fc.option(double),
});
/** Rows with ascending observation ids (as stored), from generated rows. */
const withIds = (rows: Omit<AuditRowValues, 'observation_id'>[], gaps: number[]): AuditRowValues[] => {
  let id = 0;
  return rows.map((r, i) => ({ observation_id: (id += 1 + (gaps[i] ?? 0)), ...r }));
};

async function roundTrip(rows: AuditRowValues[]): Promise<{ back: AuditRowValues[]; blocks: number; hashOfBlocks: string; sha256: string }> {
  const encoded = encodeAuditRows(auditColumnsOfRows(rows));
  const blocks = encoded.blocks;
  const back: AuditRowValues[] = [];
  const hasher = new AuditHasher();
  for (const b of blocks) {
    const read = readAuditBlock(b);
    if (!read.ok) throw new Error(read.reason);
    expect([read.rows.observationId[0], read.rows.observationId[read.rows.length - 1]]).toEqual([b.first_observation_id, b.last_observation_id]);
    hasher.add(read.rows);
    for (let k = 0; k < read.rows.length; k++) back.push(auditRowAt(read.rows, k));
  }
  return { back, blocks: blocks.length, hashOfBlocks: hasher.digest(), sha256: encoded.sha256 };
}

describe('audit blocks', () => {
  it('give back every row bit for bit (-0, NaN, infinities, nulls), and hash as AUDIT.md states, however cut', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 300 }), fc.array(fc.nat(3)), async (generated, gaps) => {
        const rows = withIds(generated, gaps);
        const { back, hashOfBlocks, sha256 } = await roundTrip(rows);
        expect(back).toEqual(rows);
        for (let k = 0; k < rows.length; k++) for (const f of ['p', 'f', 'q', 'w', 'w_capped'] as const) expect(Object.is(back[k]![f], rows[k]![f])).toBe(true);
        expect(sha256).toBe(canonicalHash(rows));
        expect(hashOfBlocks).toBe(sha256);
        expect(auditSha256(auditColumnsOfRows(back))).toBe(sha256);
      }),
      { seed: 20261203, numRuns: 200 },
    );
  });

  it('cuts a large audit into blocks of 65,536 rows that read back in order', async () => {
    const rows = withIds(
      Array.from({ length: AUDIT_BLOCK_ROWS * 2 + 5 }, (_, i) => ({
        snapshot_id: 1 + Math.floor(i / 1000),
        seq: i % 1000,
        class: i % 7 === 0 ? null : 'H100-SXM',
        reason: i % 5 === 0 ? 'outlier' : null,
        p: i / 8,
        f: 1,
        q: i / 8,
        w: 1 / 6,
        w_capped: i % 5 === 0 ? null : i / 3,
      })),
      [],
    );
    const { back, blocks, sha256 } = await roundTrip(rows);
    expect(blocks).toBe(3);
    expect(back).toEqual(rows);
    expect(sha256).toBe(canonicalHash(rows));
  });

  it('refuses a forged block without inflating it: a bomb, another layout, a row count that disagrees', async () => {
    const bomb = brotliCompressSync(Buffer.alloc(16 << 20));
    const refused = readAuditBlock({ encoding: 'br', row_count: 1, data: bomb });
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.reason).toMatch(/^does not decompress/);
    expect(readAuditBlock({ encoding: 'br', row_count: 1, data: brotliCompressSync(Buffer.from('GPA2 something')) })).toEqual({
      ok: false,
      reason: 'not an audit block',
    });
    const [block] = encodeAuditRows(
      auditColumnsOfRows(withIds([{ snapshot_id: 1, seq: 0, class: null, reason: null, p: 1, f: 1, q: 1, w: 1, w_capped: 1 }], [])),
    ).blocks;
    expect(readAuditBlock({ ...block!, row_count: 2 })).toEqual({ ok: false, reason: 'holds 1 rows, recorded as 2' });
    expect(readAuditBlock({ ...block!, encoding: 'gzip' })).toEqual({ ok: false, reason: 'unknown encoding gzip' });
  });
});
