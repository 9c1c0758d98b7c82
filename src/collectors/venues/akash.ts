// Akash Network: console API GPU prices, per GPU-hour from providers' bids, with GPU availability counts.
import { z } from 'zod';
import { joinUrl, rowParser, venueBaseConfig, type VenueAdapter, withMemory, memoryIn, type RowParserSpec } from '../adapter.js';

const configSchema = venueBaseConfig.extend({}).strict();
type AkashConfig = z.infer<typeof configSchema>;

const modelSchema = z.object({
  vendor: z.string().min(1),
  model: z.string().min(1),
  ram: z.string().min(1),
  interface: z.string().min(1),
  availability: z.object({ total: z.number().int().min(0), available: z.number().int().min(0) }),
  price: z
    .object({
      currency: z.string(),
      weightedAverage: z.number(),
    })
    .nullable(),
});

/** akash/1's reading of the payload; akash/2 adds the memory per GPU (`ram`, "80Gi" → 80). */
const akashRows = {
  envelope: z.object({ models: z.array(z.unknown()) }),
  rows: (e) => e.models,
  row: modelSchema,
  rowId: (raw) => {
    const m = raw as Record<string, unknown>;
    return typeof m?.model === 'string' ? [m.vendor, m.model, m.ram, m.interface].join('/') : null;
  },
  toListings: (m) => {
    if (m.price === null) return { ignored: 'no_bids' };
    if (m.price.currency !== 'USD') return { rejected: 'unsupported_currency', detail: `price currency ${m.price.currency}, expected USD` };
    const available = m.availability.available > 0;
    const count = available ? m.availability.available : 1;
    return [
      {
        listing_id: `${m.vendor}/${m.model}/${m.ram}/${m.interface}`,
        host_id: null,
        gpu: `${m.vendor} ${m.model} ${m.ram} ${m.interface}`,
        gpu_count: count,
        // weightedAverage is per GPU-hour; the listing offers `available` GPUs at that price.
        price_usd_per_hour: m.price.weightedAverage * count,
        contract: 'on_demand',
        available,
        perf: null,
        region: null,
        quantity_reported: available,
      },
    ];
  },
} satisfies RowParserSpec<{ models: unknown[] }, z.infer<typeof modelSchema>>;

/** akash/1: without the memory. Kept so that snapshots parsed by it replay identically. */
export const parseAkashV1 = rowParser(akashRows);

export const akash: VenueAdapter<AkashConfig> = {
  venue: 'akash',
  parserVersion: 'akash/2',
  apiKeyEnv: null,
  keyRequired: false,
  configSchema,
  buildRequests(config) {
    return [{ method: 'GET', url: joinUrl(config.base_url ?? 'https://console-api.akash.network', '/v1/gpu-prices') }];
  },
  parse: rowParser({ ...akashRows, toListings: (r) => withMemory(akashRows.toListings(r), memoryIn(r.ram, /^(\d+(?:\.\d+)?)Gi$/)) }),
};
