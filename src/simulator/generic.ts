// Simulated snapshots in the generic file venue's shape, one JSON Lines line per venue per 10 minutes, for
// benchmarks and tests that need volume without HTTP (`gpuidx simulate`).
import { marketplaceListings } from './market.js';

const MARKETPLACES = [
  { venue: 'sim-market-a', spotShare: 0.2, perf: true },
  { venue: 'sim-market-b', spotShare: 0.2, perf: false },
  { venue: 'sim-market-c', spotShare: 0.1, perf: false },
  { venue: 'sim-market-d', spotShare: 0.3, perf: true },
] as const;

/** Canonical class codes are aliases of themselves, so generic lines name GPUs by code. */
export function* simulatedLines(opts: {
  seed: number;
  scale: number;
  from: number;
  to: number;
  cadenceMs?: number;
}): Generator<{ text: string; listings: number }> {
  const cadence = opts.cadenceMs ?? 600_000;
  for (let t = opts.from; t < opts.to; t += cadence) {
    for (const m of MARKETPLACES) {
      const listings = marketplaceListings(opts.seed, m.venue, t, opts.scale, { spotShare: m.spotShare, perf: m.perf, spread: 0.6 }).map((l) => ({
        listing_id: l.id,
        host_id: l.host,
        gpu: l.cls.code,
        gpu_count: l.gpus,
        price_usd_per_hour: Math.round(l.pricePerGpu * l.gpus * 10_000) / 10_000,
        contract: l.contract,
        available: !l.rented,
        perf: l.perfPerGpu === null ? null : { system: 'vast_dlperf', score_per_gpu: l.perfPerGpu },
        region: l.region,
      }));
      yield { text: JSON.stringify({ venue: m.venue, fetched_at: t, listings }), listings: listings.length };
    }
  }
}
