// Synthetic market day for benchmarks: generic-venue JSON Lines (one line per snapshot), deterministic from a seed.
// 8 venues snapshot every 10 minutes; listings spread over the methodology's 20 classes, with a few junk prices.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export const VENUES = ['vast', 'runpod', 'lambda', 'tensordock', 'akash', 'azure', 'partner-a', 'partner-b'] as const;

/** Raw names (matched by the taxonomy's "*" aliases) and a typical USD per GPU-hour level for each class. */
const CLASSES: [string, number][] = [
  ['H100 SXM', 2.4],
  ['H100 PCIE', 2.0],
  ['H100 NVL', 2.2],
  ['H200', 3.3],
  ['H200 NVL', 3.1],
  ['B200', 5.0],
  ['A100 SXM4', 1.2],
  ['A100 PCIE', 1.1],
  ['NVIDIA A100-SXM4-40GB', 0.9],
  ['L40S', 0.85],
  ['L40', 0.75],
  ['L4', 0.4],
  ['RTX A6000', 0.45],
  ['A40', 0.4],
  ['RTX 6000 Ada', 0.75],
  ['RTX 4090', 0.35],
  ['RTX 3090', 0.2],
  ['RTX 5090', 0.65],
  ['MI300X', 2.1],
  ['Tesla V100', 0.25],
];

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticDay {
  /** Start of the UTC day, ms. */
  dayStart: number;
  observations: number;
  snapshots: number;
}

/** Writes one day to `path`: VENUES × 144 snapshots, about `observations` listings in total. */
export async function writeSyntheticDay(path: string, dayStart: number, observations: number, seed = 1): Promise<SyntheticDay> {
  const perSnapshot = Math.ceil(observations / (VENUES.length * 144));
  const out = createWriteStream(path);
  let count = 0;
  let snapshots = 0;
  for (let v = 0; v < VENUES.length; v++) {
    const venue = VENUES[v]!;
    const r = rng(seed * 1000 + v);
    // Each venue has a fixed book of listings; the price drifts a little per snapshot.
    const book = Array.from({ length: perSnapshot }, (_, k) => {
      const [gpu, level] = CLASSES[Math.floor(r() * CLASSES.length)]!;
      const n = [1, 1, 2, 4, 8][Math.floor(r() * 5)]!;
      const junk = r() < 0.005 ? (r() < 0.5 ? 0.01 : 250) : null;
      return {
        id: `${venue}-${k}`,
        host: `h${Math.floor(k / 4)}`,
        gpu,
        n,
        contract: r() < 0.2 ? 'interruptible' : 'on_demand',
        level: junk ?? level * (0.7 + r() * 0.6),
        score: gpu === 'H100 SXM' && venue === 'vast' ? 200 + r() * 200 : null,
      };
    });
    for (let s = 0; s < 144; s++) {
      if (count >= observations) break;
      const take = Math.min(book.length, observations - count);
      const listings = book.slice(0, take).map((l) => ({
        listing_id: l.id,
        host_id: l.host,
        gpu: l.gpu,
        gpu_count: l.n,
        price_usd_per_hour: Math.round(l.n * l.level * (0.98 + r() * 0.04) * 10_000) / 10_000,
        contract: l.contract,
        available: r() < 0.9,
        perf: l.score === null ? null : { system: 'vast_dlperf', score_per_gpu: Math.round(l.score * 100) / 100 },
        region: null,
      }));
      count += listings.length;
      snapshots += 1;
      if (!out.write(`${JSON.stringify({ venue, fetched_at: dayStart + s * 600_000 + v * 1000, listings })}\n`)) await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
  return { dayStart, observations: count, snapshots };
}
