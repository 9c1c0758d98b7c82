// The reference markets the goldens lock and the column engines are held equal to the reference calculation on.
import type { ObservationInput } from '../../src/methodology/types.js';
import { unit } from '../../src/simulator/market.js';
import { D0, HOUR } from './helpers.js';

/** A deterministic three-day market: 4 venues, hourly snapshots, several classes, junk, spot and slow machines. */
export function market(): ObservationInput[] {
  let a = 42;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const classes: [string, number][] = [
    ['H100 SXM', 2.2],
    ['A100 SXM4', 1.1],
    ['RTX 4090', 0.35],
    ['L40S', 0.8],
    ['Mystery GPU', 1],
  ];
  const out: ObservationInput[] = [];
  let id = 0;
  for (const venue of ['vast', 'runpod', 'akash', 'partner']) {
    for (let h = -48; h < 24; h += 1) {
      const t = D0 + h * HOUR + Math.floor(rnd() * 600_000);
      for (let l = 0; l < 12; l++) {
        const [gpu, level] = classes[l % classes.length]!;
        const n = [1, 2, 4, 8][l % 4]!;
        const junk = l === 11 && h % 7 === 0 ? (rnd() < 0.5 ? 0.01 : 999) : null;
        id += 1;
        out.push({
          observationId: id,
          snapshotId: h + 100,
          snapshotSha256: `${venue}-${h}`,
          seq: l,
          venue,
          fetchedAt: t,
          listingId: `${venue}-${l}`,
          gpuRaw: gpu,
          gpuCount: n,
          priceUsdPerHour: junk ?? n * level * (0.8 + rnd() * 0.4),
          contract: l % 3 === 2 ? 'interruptible' : 'on_demand',
          available: rnd() > 0.1,
          perfSystem: venue === 'vast' ? 'vast_dlperf' : null,
          perfScorePerGpu: venue === 'vast' ? 150 + rnd() * 300 : null,
        });
      }
    }
  }
  return out;
}

/**
 * Memory per GPU as Vast.ai reports it (gpu_ram / 1024): listing 5 is a 40 GB A100 under the same name as the
 * 80 GB ones (class A100-40). Akash reports none: its A100 SXM4 listings are memory_ambiguous, the rest classed.
 */
function memoryOf(gpu: string, listing: number): number {
  if (gpu === 'A100 SXM4') return listing === 5 ? 40 : 80;
  return { 'H100 SXM': 79.6474609375, 'RTX 4090': 23.98828125, L40S: 44.98828125 }[gpu]!;
}

/**
 * Three days of a reference market: vast (hosts, slices of shared machines, bids, memory variants), tensordock and akash with
 * reported quantities, runpod and azure list prices, a venue that is not admitted, a file import claiming vast,
 * junk prices, snapshots every 20 minutes with seeded jitter.
 */
export function v2Market(): ObservationInput[] {
  const classes: [string, number][] = [
    ['H100 SXM', 2.2],
    ['A100 SXM4', 1.1],
    ['RTX 4090', 0.35],
    ['L40S', 0.8],
  ];
  const venues: { venue: string; source: 'http' | 'file'; quantity: boolean }[] = [
    { venue: 'vast', source: 'http', quantity: true },
    { venue: 'tensordock', source: 'http', quantity: true },
    { venue: 'akash', source: 'http', quantity: true },
    { venue: 'runpod', source: 'http', quantity: false },
    { venue: 'azure', source: 'http', quantity: false },
    { venue: 'cheapgpus', source: 'http', quantity: true },
    { venue: 'vast', source: 'file', quantity: true },
  ];
  const out: ObservationInput[] = [];
  let id = 0;
  for (const [vi, v] of venues.entries()) {
    for (let s = -144; s < 72; s++) {
      const t = D0 + s * 1_200_000 + Math.floor(unit(9, v.venue, vi, s) * 300_000);
      for (let l = 0; l < 10; l++) {
        if (unit(9, 'present', vi, l, Math.floor(s / 6)) < 0.15) continue; // listings come and go
        const [gpu, level] = classes[l % classes.length]!;
        const n = [1, 2, 4, 8][l % 4]!;
        const junk = l === 9 && s % 11 === 0 ? 0.01 : null;
        const price = junk ?? n * level * (0.85 + unit(9, 'p', vi, l, s) * 0.3) * (v.venue === 'cheapgpus' || v.source === 'file' ? 0.5 : 1);
        id += 1;
        const base: ObservationInput = {
          observationId: id,
          snapshotId: vi * 1000 + s,
          snapshotSha256: `${v.venue}-${v.source}-${s}`,
          seq: 2 * l,
          venue: v.venue,
          fetchedAt: t,
          listingId: `${v.venue}-${l}`,
          gpuRaw: gpu,
          gpuCount: n,
          priceUsdPerHour: price,
          contract: 'on_demand',
          available: unit(9, 'a', vi, l, s) > 0.1,
          perfSystem: v.venue === 'vast' ? 'vast_dlperf' : null,
          perfScorePerGpu: v.venue === 'vast' ? 200 + unit(9, 'perf', l) * 200 : null,
          source: v.source,
          hostId: `${v.venue}-host-${l % 4}`,
          quantityReported: v.quantity,
          machineId: v.venue === 'vast' ? `m-${l % 4}` : null,
          gpuMemoryGb: v.venue === 'akash' ? null : memoryOf(gpu, l),
        };
        out.push(base);
        // Vast's bid on each offer; every fourth bid sits above its ask.
        if (v.venue === 'vast')
          out.push({
            ...base,
            observationId: (id += 1),
            seq: 2 * l + 1,
            listingId: `${base.listingId}/bid`,
            contract: 'interruptible',
            priceUsdPerHour: price * (l % 4 === 3 ? 1.2 : 0.6),
          });
      }
    }
  }
  return out;
}
