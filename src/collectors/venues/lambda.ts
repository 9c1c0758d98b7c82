// Lambda Cloud: instance types keyed by name, integer cents per instance-hour, capacity listed by region.
import { z } from 'zod';
import { joinUrl, rowParser, venueBaseConfig, type VenueAdapter, withMemory, memoryIn, type RowParserSpec } from '../adapter.js';

const configSchema = venueBaseConfig.extend({}).strict();
type LambdaConfig = z.infer<typeof configSchema>;

const entrySchema = z.object({
  key: z.string(),
  value: z.object({
    instance_type: z.object({
      name: z.string().min(1),
      description: z.string().nullish(),
      gpu_description: z.string().nullish(),
      price_cents_per_hour: z.number(),
      specs: z.object({ gpus: z.number().int().min(0) }),
    }),
    regions_with_capacity_available: z.array(z.object({ name: z.string().min(1) })),
  }),
});

/** "8x H100 (80 GB SXM5)" → "H100 (80 GB SXM5)". */
function gpuName(t: { description?: string | null | undefined; gpu_description?: string | null | undefined; name: string }): string {
  if (t.gpu_description) return t.gpu_description;
  if (t.description) return t.description.replace(/^\s*\d+\s*x\s*/i, '');
  return t.name;
}

/** lambda/1's reading of the payload; lambda/2 adds the memory per GPU ("8x H100 (80 GB SXM5)" → 80). */
const lambdaRows = {
  envelope: z.object({ data: z.record(z.string(), z.unknown()) }),
  // Sorted by key so that row order never depends on how the venue ordered its map.
  rows: (e) =>
    Object.keys(e.data)
      .sort()
      .map((key) => ({ key, value: e.data[key] })),
  row: entrySchema,
  rowId: (raw) => (raw as { key?: string }).key ?? null,
  toListings: ({ value: { instance_type: t, regions_with_capacity_available: regions } }, { default_quantity }) => {
    if (t.specs.gpus === 0) return { ignored: 'no_gpu' };
    const base = {
      host_id: null,
      gpu: gpuName(t),
      gpu_count: t.specs.gpus * default_quantity,
      // Cents per instance-hour; the instance holds specs.gpus GPUs.
      price_usd_per_hour: (t.price_cents_per_hour / 100) * default_quantity,
      contract: 'on_demand' as const,
      perf: null,
      quantity_reported: false,
    };
    if (regions.length === 0) return [{ ...base, listing_id: t.name, available: false, region: null }];
    return regions.map((r) => ({ ...base, listing_id: `${t.name}@${r.name}`, available: true, region: r.name }));
  },
} satisfies RowParserSpec<{ data: Record<string, unknown> }, z.infer<typeof entrySchema>>;

/** lambda/1: without the memory. Kept so that snapshots parsed by it replay identically. */
export const parseLambdaV1 = rowParser(lambdaRows);

export const lambda: VenueAdapter<LambdaConfig> = {
  venue: 'lambda',
  parserVersion: 'lambda/2',
  apiKeyEnv: 'LAMBDA_API_KEY',
  keyRequired: true,
  configSchema,
  buildRequests(config, apiKey) {
    return [
      {
        method: 'GET',
        url: joinUrl(config.base_url ?? 'https://cloud.lambdalabs.com', '/api/v1/instance-types'),
        headers: { authorization: `Bearer ${apiKey ?? ''}` },
      },
    ];
  },
  parse: rowParser({
    ...lambdaRows,
    toListings: (r, o) =>
      withMemory(
        lambdaRows.toListings(r, o),
        memoryIn(r.value.instance_type.gpu_description ?? r.value.instance_type.description, /\((\d+(?:\.\d+)?)\s*GB\b/i),
      ),
  }),
};
