// An observation block's GPU-name summary: what a fixing reads to know which classes a window holds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gpuNamesOf } from '../../src/storage/observation-blocks.js';

/** The summary as specified in AUDIT.md, written the plainest way: distinct [name, memory] pairs by their JSON text. */
function plainSummary(rows: { gpu_raw: string; gpu_memory_gb?: number | null }[]): string {
  const counts: Record<string, number> = {};
  for (const r of rows) {
    const key = JSON.stringify([r.gpu_raw, r.gpu_memory_gb ?? null]);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return `[${Object.keys(counts)
    .sort()
    .map((k) => `${k.slice(0, -1)},${counts[k]}]`)
    .join(',')}]`;
}

describe('observation block GPU-name summary', () => {
  it('counts each name and memory pair, sorted by its JSON text', () => {
    const rows = [
      { gpu_raw: 'RTX 4090', gpu_memory_gb: 24 },
      { gpu_raw: 'H100 SXM', gpu_memory_gb: null },
      { gpu_raw: 'RTX 4090', gpu_memory_gb: 24 },
      { gpu_raw: 'RTX 4090' },
      { gpu_raw: 'A100', gpu_memory_gb: 80 },
      { gpu_raw: 'A100', gpu_memory_gb: 40 },
    ];
    // ["A100",40] < ["A100",80] < ["H100 SXM",null] < ["RTX 4090",24] < ["RTX 4090",null]: '2' (0x32) sorts before 'n'.
    expect(gpuNamesOf(rows)).toBe('[["A100",40,1],["A100",80,1],["H100 SXM",null,1],["RTX 4090",24,2],["RTX 4090",null,1]]');
  });

  it('agrees with the plainest implementation on any names, memories and repeats', () => {
    const name = fc.oneof(fc.constantFrom('A100', 'A100 ', 'a100', 'H100\u0000SXM', 'null', '0', 'Ä100', '"q"', '\\'), fc.string({ maxLength: 6 }));
    const memory = fc.oneof(
      fc.constant(null),
      fc.constant(undefined),
      fc.constantFrom(0, -0, 24, 80, 0.5, 1e21),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    );
    fc.assert(
      fc.property(fc.array(fc.record({ gpu_raw: name, gpu_memory_gb: memory }), { maxLength: 40 }), (rows) => {
        expect(gpuNamesOf(rows)).toBe(plainSummary(rows));
      }),
      { numRuns: 300 },
    );
  });
});
