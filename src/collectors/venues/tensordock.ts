// TensorDock marketplace (API v2 locations): per-GPU hourly price and the number of GPUs deployable per location.
import { z } from 'zod';
import { joinUrl, rowParser, venueBaseConfig, type VenueAdapter, withMemory, memoryIn, type RowParserSpec } from '../adapter.js';

const configSchema = venueBaseConfig.extend({}).strict();
type TensordockConfig = z.infer<typeof configSchema>;

const gpuRowSchema = z.object({
  location: z.object({
    id: z.string().min(1),
    city: z.string().nullish(),
    stateprovince: z.string().nullish(),
    country: z.string().nullish(),
  }),
  gpu: z.object({
    v0Name: z.string().min(1),
    max_count: z.number().int().min(0),
    price_per_hr: z.number(),
  }),
});

/** One row per (location, GPU model); a location without a gpus array becomes one row that fails its schema. */
function flatten(locations: readonly unknown[]): unknown[] {
  const rows: unknown[] = [];
  for (const loc of locations) {
    const gpus = (loc as { gpus?: unknown } | null)?.gpus;
    if (!Array.isArray(gpus)) rows.push({ location: loc, gpu: undefined });
    else for (const gpu of gpus) rows.push({ location: loc, gpu });
  }
  return rows;
}

/** tensordock/1's reading of the payload; tensordock/2 adds the memory per GPU (the name's suffix, "h100-sxm5-80gb" → 80). */
const tensordockRows = {
  envelope: z.object({ data: z.object({ locations: z.array(z.unknown()) }) }),
  rows: (e) => flatten(e.data.locations),
  row: gpuRowSchema,
  rowId: (raw) => {
    const r = raw as { location?: { id?: unknown }; gpu?: { v0Name?: unknown } };
    return typeof r.location?.id === 'string' ? `${r.location.id}/${String(r.gpu?.v0Name ?? '?')}` : null;
  },
  toListings: ({ location: l, gpu: g }) => {
    const available = g.max_count > 0;
    // price_per_hr is per GPU; a listing offers max_count GPUs, so the listing price is their sum.
    const count = available ? g.max_count : 1;
    return [
      {
        listing_id: `${l.id}/${g.v0Name}`,
        host_id: null,
        gpu: g.v0Name,
        gpu_count: count,
        price_usd_per_hour: g.price_per_hr * count,
        contract: 'on_demand',
        available,
        perf: null,
        region: [l.country, l.stateprovince, l.city].filter(Boolean).join('/') || null,
        quantity_reported: available,
      },
    ];
  },
} satisfies RowParserSpec<{ data: { locations: unknown[] } }, z.infer<typeof gpuRowSchema>>;

/** tensordock/1: without the memory. Kept so that snapshots parsed by it replay identically. */
export const parseTensordockV1 = rowParser(tensordockRows);

export const tensordock: VenueAdapter<TensordockConfig> = {
  venue: 'tensordock',
  parserVersion: 'tensordock/2',
  apiKeyEnv: 'TENSORDOCK_API_KEY',
  keyRequired: true,
  configSchema,
  buildRequests(config, apiKey) {
    return [
      {
        method: 'GET',
        url: joinUrl(config.base_url ?? 'https://dashboard.tensordock.com', '/api/v2/locations'),
        headers: { authorization: `Bearer ${apiKey ?? ''}` },
      },
    ];
  },
  parse: rowParser({ ...tensordockRows, toListings: (r) => withMemory(tensordockRows.toListings(r), memoryIn(r.gpu.v0Name, /-(\d+(?:\.\d+)?)gb$/i)) }),
};
