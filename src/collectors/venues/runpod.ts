// RunPod: GraphQL gpuTypes. Per-GPU prices per tier (secure/community, on-demand/spot); no quantity is reported.
import { z } from 'zod';
import {
  joinUrl,
  rowIdFrom,
  rowParser,
  venueBaseConfig,
  memoryGb,
  withMemory,
  type ListingCandidate,
  type RowParserSpec,
  type VenueAdapter,
} from '../adapter.js';

const configSchema = venueBaseConfig.extend({}).strict();
type RunpodConfig = z.infer<typeof configSchema>;

export const RUNPOD_QUERY = `query GpuTypes {
  gpuTypes {
    id displayName memoryInGb secureCloud communityCloud
    securePrice communityPrice secureSpotPrice communitySpotPrice
    lowestPrice(input: { gpuCount: 1 }) { minimumBidPrice uninterruptablePrice stockStatus }
  }
}`;

const gpuTypeSchema = z.object({
  id: z.string().min(1),
  displayName: z.string().nullish(),
  secureCloud: z.boolean().nullish(),
  communityCloud: z.boolean().nullish(),
  securePrice: z.number().nullish(),
  communityPrice: z.number().nullish(),
  secureSpotPrice: z.number().nullish(),
  communitySpotPrice: z.number().nullish(),
  lowestPrice: z.object({ stockStatus: z.string().nullish() }).nullish(),
});

const TIERS = [
  { suffix: 'secure', cloud: 'secureCloud', price: 'securePrice', contract: 'on_demand' },
  { suffix: 'community', cloud: 'communityCloud', price: 'communityPrice', contract: 'on_demand' },
  { suffix: 'secure-spot', cloud: 'secureCloud', price: 'secureSpotPrice', contract: 'interruptible' },
  { suffix: 'community-spot', cloud: 'communityCloud', price: 'communitySpotPrice', contract: 'interruptible' },
] as const;

type GpuType = z.infer<typeof gpuTypeSchema>;

/** runpod/1's reading of the payload; runpod/2 adds the memory per GPU (`memoryInGb`). */
const runpodRows = {
  venueError: (json) => {
    const errors = (json as { errors?: { message?: string }[] } | null)?.errors;
    if (Array.isArray(errors) && errors.length > 0) return `GraphQL errors: ${errors.map((e) => e?.message ?? '?').join('; ')}`;
    return null;
  },
  envelope: z.object({ data: z.object({ gpuTypes: z.array(z.unknown()) }) }),
  rows: (e) => e.data.gpuTypes,
  row: gpuTypeSchema,
  rowId: rowIdFrom('id'),
  toListings: (g, { default_quantity }) => {
    // A tier exists only where its cloud flag is set and its price is non-zero: RunPod writes 0 (and sometimes
    // a placeholder) for tiers it does not offer, and 0 is "not offered", never "free".
    const stock = g.lowestPrice === undefined ? undefined : (g.lowestPrice?.stockStatus ?? null);
    const out: ListingCandidate[] = [];
    for (const t of TIERS) {
      const price = g[t.price];
      if (g[t.cloud] !== true || price === null || price === undefined || price === 0) continue;
      out.push({
        listing_id: `${g.id}/${t.suffix}`,
        host_id: null,
        gpu: g.id,
        gpu_count: default_quantity,
        price_usd_per_hour: price * default_quantity,
        contract: t.contract,
        // stockStatus null means none in stock; without a lowestPrice block the cloud flag is all we know.
        available: stock === undefined ? true : stock !== null,
        perf: null,
        region: null,
        quantity_reported: false,
      });
    }
    return out.length > 0 ? out : { ignored: 'not_offered' };
  },
} satisfies RowParserSpec<{ data: { gpuTypes: unknown[] } }, GpuType>;

/** runpod/2 also reads `memoryInGb`, the memory per GPU. */
const gpuTypeSchemaV2 = gpuTypeSchema.extend({ memoryInGb: z.number().nullish() });

/** runpod/1: without the memory. Kept so that snapshots parsed by it replay identically. */
export const parseRunpodV1 = rowParser(runpodRows);

export const runpod: VenueAdapter<RunpodConfig> = {
  venue: 'runpod',
  parserVersion: 'runpod/2',
  apiKeyEnv: 'RUNPOD_API_KEY',
  keyRequired: true,
  configSchema,
  buildRequests(config, apiKey) {
    return [
      {
        method: 'POST',
        url: joinUrl(config.base_url ?? 'https://api.runpod.io', '/graphql'),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey ?? ''}` },
        body: JSON.stringify({ query: RUNPOD_QUERY }),
      },
    ];
  },
  parse: rowParser({ ...runpodRows, row: gpuTypeSchemaV2, toListings: (g, o) => withMemory(runpodRows.toListings(g, o), memoryGb(g.memoryInGb)) }),
};
