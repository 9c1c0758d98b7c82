// A deterministic GPU rental market: every venue's listings at any instant are a pure function of (seed, time),
// so a month of history can be served in any order, and the same seed always tells the same story. Prices sit
// at today's levels per class, drift slowly, jump now and then; listings appear, get rented and disappear;
// some machines benchmark slow; a few junk listings are priced absurdly.

/** A fast deterministic hash of a key to [0, 1). */
export function unit(seed: number, ...parts: (string | number)[]): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (const p of parts) {
    const s = String(p);
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ 0x2f, 0x01000193) >>> 0;
  }
  // Final avalanche (murmur3 fmix32).
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A class as the simulated market trades it: marketplace level in USD per GPU-hour and how many listings. */
export interface SimClass {
  code: string;
  /** Typical marketplace price, USD per GPU-hour. */
  level: number;
  /** Marketplace listings per venue at scale 1. */
  depth: number;
  /** Vast.ai DLPerf per GPU of a typical machine (reference for slow-machine factors). */
  dlperf: number;
}

export const SIM_CLASSES: SimClass[] = [
  { code: 'H100-SXM', level: 2.2, depth: 14, dlperf: 314 },
  { code: 'H100-PCIE', level: 1.9, depth: 6, dlperf: 240 },
  { code: 'H100-NVL', level: 2.1, depth: 6, dlperf: 370 },
  { code: 'H200', level: 3.1, depth: 6, dlperf: 350 },
  { code: 'B200', level: 4.6, depth: 4, dlperf: 600 },
  { code: 'A100-SXM-80', level: 1.15, depth: 10, dlperf: 170 },
  { code: 'A100-PCIE-80', level: 1.05, depth: 6, dlperf: 150 },
  { code: 'A100-40', level: 0.75, depth: 5, dlperf: 130 },
  { code: 'L40S', level: 0.8, depth: 8, dlperf: 110 },
  { code: 'L40', level: 0.7, depth: 5, dlperf: 95 },
  { code: 'L4', level: 0.35, depth: 5, dlperf: 40 },
  { code: 'A6000', level: 0.45, depth: 8, dlperf: 60 },
  { code: 'A40', level: 0.4, depth: 4, dlperf: 55 },
  { code: 'RTX-6000-ADA', level: 0.75, depth: 5, dlperf: 100 },
  { code: 'RTX-4090', level: 0.34, depth: 16, dlperf: 80 },
  { code: 'RTX-3090', level: 0.2, depth: 10, dlperf: 40 },
  { code: 'RTX-5090', level: 0.62, depth: 8, dlperf: 110 },
  { code: 'MI300X', level: 2.0, depth: 4, dlperf: 300 },
  { code: 'V100-16', level: 0.22, depth: 4, dlperf: 25 },
];

/**
 * The class-wide price index at time t: slow waves plus step jumps (about one every ten days, up to ±9%),
 * identical for every venue, so venues move together the way a real market does.
 */
export function classLevel(seed: number, cls: SimClass, t: number): number {
  const phase1 = unit(seed, cls.code, 'phase1') * 2 * Math.PI;
  const phase2 = unit(seed, cls.code, 'phase2') * 2 * Math.PI;
  let level = cls.level * (1 + 0.05 * Math.sin((2 * Math.PI * t) / (11 * DAY) + phase1) + 0.02 * Math.sin((2 * Math.PI * t) / (2.7 * DAY) + phase2));
  // Jumps: each 10-day epoch may hold one, at a seeded hour; it persists into later epochs.
  const epoch = Math.floor(t / (10 * DAY));
  for (let e = epoch - 3; e <= epoch; e++) {
    if (unit(seed, cls.code, 'jump?', e) < 0.5) continue;
    const at = e * 10 * DAY + Math.floor(unit(seed, cls.code, 'jump@', e) * 10 * DAY);
    if (t >= at) level *= 1 + (unit(seed, cls.code, 'jump%', e) - 0.5) * 0.18;
  }
  return level;
}

export interface MarketListing {
  /** Stable within the venue. */
  id: string;
  host: string;
  cls: SimClass;
  gpus: number;
  /** USD per GPU-hour. */
  pricePerGpu: number;
  contract: 'on_demand' | 'interruptible';
  rented: boolean;
  /** Benchmark per GPU, or null when the venue publishes none. */
  perfPerGpu: number | null;
  region: string;
  junk: boolean;
}

const REGIONS = ['US/Texas', 'US/California', 'US/Virginia', 'Canada/Quebec', 'Germany', 'Norway', 'Japan', 'Taiwan', 'Romania', 'Sweden'];

/**
 * Marketplace listings of one venue at time t. Listing k of a class lives in epochs of its own length (6 to 72
 * hours): present in an epoch with probability 0.8, with a per-epoch price factor; rented status changes hourly.
 */
export function marketplaceListings(
  seed: number,
  venue: string,
  t: number,
  scale: number,
  opts: { spotShare: number; perf: boolean; spread: number },
): MarketListing[] {
  const out: MarketListing[] = [];
  for (const cls of SIM_CLASSES) {
    const level = classLevel(seed, cls, t);
    const n = Math.max(1, Math.round(cls.depth * scale * (0.6 + unit(seed, venue, cls.code, 'depth'))));
    for (let k = 0; k < n; k++) {
      const key = `${cls.code}-${k}`;
      const life = (6 + Math.floor(unit(seed, venue, key, 'life') * 66)) * HOUR;
      const offset = Math.floor(unit(seed, venue, key, 'offset') * life);
      const epoch = Math.floor((t + offset) / life);
      if (unit(seed, venue, key, 'present', epoch) > 0.8) continue;
      const gpus = [1, 1, 2, 4, 8][Math.floor(unit(seed, venue, key, 'gpus') * 5)]!;
      const junkRoll = unit(seed, venue, key, 'junk', epoch);
      // About 1 listing in 60 is junk: absurd (0.01 or 999 USD) or merely five times the market.
      const junk = junkRoll < 0.017;
      let price = level * (1 + (unit(seed, venue, key, 'price', epoch) - 0.5) * opts.spread);
      if (junk) price = junkRoll < 0.006 ? 0.01 : junkRoll < 0.011 ? 999 : price * 5;
      const slow = unit(seed, venue, key, 'slow') < 0.12;
      const perf = opts.perf ? cls.dlperf * (slow ? 0.45 + unit(seed, venue, key, 'perf') * 0.2 : 0.9 + unit(seed, venue, key, 'perf') * 0.2) : null;
      out.push({
        id: `${venue}-${key}-${epoch}`,
        host: `${venue}-host-${Math.floor(unit(seed, venue, key, 'host') * 400)}`,
        cls,
        gpus,
        pricePerGpu: Math.round(price * 10_000) / 10_000,
        contract: unit(seed, venue, key, 'spot') < opts.spotShare ? 'interruptible' : 'on_demand',
        rented: unit(seed, venue, key, 'rented', Math.floor(t / HOUR)) < 0.3,
        perfPerGpu: perf === null ? null : Math.round(perf * 100) / 100,
        region: REGIONS[Math.floor(unit(seed, venue, key, 'region') * REGIONS.length)]!,
        junk,
      });
    }
  }
  return out;
}

/** A list price that moves with the class index but only in daily steps (clouds reprice rarely). */
export function listPrice(seed: number, cls: SimClass, t: number, premium: number): number {
  const day = Math.floor(t / DAY) * DAY;
  return Math.round(classLevel(seed, cls, day) * premium * 100) / 100;
}

export const MS = { HOUR, DAY };
