// Vast.ai marketplace: offer search. One observation per offer; prices and DLPerf are per machine (all num_gpus).
import { z } from 'zod';
import { checkListing, joinUrl, memoryGb, rowIdFrom, rowParser, venueBaseConfig, type ListingCandidate, type VenueAdapter } from '../adapter.js';

const configSchema = venueBaseConfig
  .extend({
    /** Only these Vast `gpu_name` values; empty means every GPU model. */
    gpu_names: z.array(z.string().min(1)).default([]),
    /**
     * Vast has no pagination, only a limit; keep it above the number of rentable offers. A real full search of
     * 15,000 offers is ~41 MB: past ~20,000 raise `http.max_body_bytes` too (default 64 MiB).
     */
    limit: z.number().int().min(1).max(50_000).default(5_000),
  })
  .strict();
type VastConfig = z.infer<typeof configSchema>;

const offerSchema = z.object({
  id: z.number().int(),
  host_id: z.number().int().nullish(),
  gpu_name: z.string().min(1),
  num_gpus: z.number(),
  dph_total: z.number(),
  dlperf: z.number().nullish(),
  rentable: z.boolean(),
  rented: z.boolean().nullish(),
  geolocation: z.string().nullish(),
});
const offerSchemaV1 = offerSchema;
/** vast/2 also reads the interruptible floor for the whole offer, USD per hour. */
const offerSchemaV2 = offerSchema.extend({ min_bid: z.number().nullish() });
/** vast/3 also reads the physical machine (`machine_id`): several offers (slices) of one machine are listed at once. */
const offerSchemaV3 = offerSchemaV2.extend({ machine_id: z.number().int().nullish() });
/**
 * vast/4 also reads the memory per GPU (`gpu_ram`, MB): Vast names 40 GB and 80 GB A100s alike ("A100 SXM4"), and
 * 16 GB and 32 GB V100s ("Tesla V100"). A value that is not a positive number is left out, not guessed.
 */
const offerSchemaV4 = offerSchemaV3.extend({ gpu_ram: z.number().nullish() });

/** Vast's `gpu_ram` (MB per GPU) in GB of 1024 MB; null when absent or not a positive number. */
export function vastMemoryGb(gpuRam: number | null | undefined): number | null {
  return memoryGb(gpuRam == null ? null : gpuRam / 1024);
}

/** "Montana, US" → "US/Montana", ", US" → "US", "Norway" → "Norway". */
export function vastRegion(geo: string | null | undefined): string | null {
  if (!geo) return null;
  const parts = geo.split(',').map((p) => p.trim());
  if (parts.length < 2) return parts[0] || null;
  const country = parts[parts.length - 1]!;
  const place = parts.slice(0, -1).filter(Boolean).join(', ');
  if (!country) return place || null;
  return place ? `${country}/${place}` : country;
}

type VastOffer = z.infer<typeof offerSchemaV1>;

/** The on-demand listing of an offer: the machine price (`dph_total`, all its GPUs) and DLPerf per GPU. */
function onDemandListing(o: VastOffer): ListingCandidate {
  return {
    listing_id: String(o.id),
    host_id: o.host_id == null ? null : String(o.host_id),
    gpu: o.gpu_name,
    gpu_count: o.num_gpus,
    price_usd_per_hour: o.dph_total,
    contract: 'on_demand',
    available: o.rentable && o.rented !== true,
    perf: o.dlperf != null && o.dlperf > 0 && o.num_gpus > 0 ? { system: 'vast_dlperf', score_per_gpu: o.dlperf / o.num_gpus } : null,
    region: vastRegion(o.geolocation),
    quantity_reported: true,
  };
}

const vastRows = {
  envelope: z.object({ offers: z.array(z.unknown()) }),
  rows: (e: { offers: unknown[] }) => e.offers,
  rowId: rowIdFrom('id'),
};

/** vast/1: on-demand only. Kept so that snapshots parsed by it replay identically. */
export const parseVastV1 = rowParser({ ...vastRows, row: offerSchemaV1, toListings: (o) => [onDemandListing(o)] });

export const vast: VenueAdapter<VastConfig> = {
  venue: 'vast',
  parserVersion: 'vast/4',
  apiKeyEnv: 'VAST_API_KEY',
  keyRequired: false,
  configSchema,
  buildRequests(config, apiKey) {
    const query: Record<string, unknown> = {
      rentable: { eq: true },
      type: 'on-demand',
      limit: config.limit,
    };
    if (config.gpu_names.length > 0) query.gpu_name = { in: config.gpu_names };
    return [
      {
        method: 'POST',
        url: joinUrl(config.base_url ?? 'https://console.vast.ai', '/api/v0/bundles/'),
        headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
        body: JSON.stringify(query),
      },
    ];
  },
  // vast/4: each offer is also an interruptible listing at its bid floor `min_bid` (for the whole machine), when
  // it names one (since vast/2); both carry the offer's machine (since vast/3) and memory per GPU (since vast/4).
  parse: rowParser({
    ...vastRows,
    row: offerSchemaV4,
    // Memory goes on the on-demand candidate, which the bid copies, so both are checked once each (checkListing).
    // Set on the fresh candidate rather than spread into a copy: this runs for every offer of a 20k-offer search.
    toListings: (o) => {
      const onDemand = onDemandListing(o);
      onDemand.machine_id = machineOf(o);
      onDemand.gpu_memory_gb = vastMemoryGb(o.gpu_ram);
      return withBid(onDemand, o);
    },
  }),
};

const machineOf = (o: { machine_id?: number | null | undefined }) => (o.machine_id == null ? null : String(o.machine_id));

/** vast/3: as vast/4 without the memory. Kept so that snapshots parsed by it replay identically. */
export const parseVastV3 = rowParser({ ...vastRows, row: offerSchemaV3, toListings: (o) => withBid({ ...onDemandListing(o), machine_id: machineOf(o) }, o) });

/** vast/2: as vast/3 without the machine. Kept so that snapshots parsed by it replay identically. */
export const parseVastV2 = rowParser({ ...vastRows, row: offerSchemaV2, toListings: (o) => withBid(onDemandListing(o), o) });

/**
 * An offer's listings: the on-demand one and, when the offer names a usable bid floor `min_bid` (for the whole
 * machine), an interruptible one at it. The bid is an extra reading of a sound offer: a row stays one row,
 * rejected once for its on-demand fault, and an unusable bid floor is left out (the raw bytes keep it).
 */
function withBid(onDemand: ListingCandidate, o: { id: number; min_bid?: number | null | undefined }): ListingCandidate[] {
  if (o.min_bid == null || o.min_bid <= 0) return [onDemand];
  const bid: ListingCandidate = { ...onDemand, listing_id: `${o.id}/bid`, price_usd_per_hour: o.min_bid, contract: 'interruptible' };
  return checkListing(onDemand).success && checkListing(bid).success ? [onDemand, bid] : [onDemand];
}
