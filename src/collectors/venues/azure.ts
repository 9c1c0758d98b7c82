// Azure Retail Prices (public): pay-as-you-go and Spot list prices of GPU VM SKUs, per VM-hour, paginated.
import { z } from 'zod';
import { joinUrl, rowParser, venueBaseConfig, type VenueAdapter } from '../adapter.js';
import type { HttpRequestSpec } from '../http.js';

/** GPUs per VM for the GPU SKUs we index. A SKU not listed here is skipped as `not_gpu_sku`. */
export const AZURE_GPU_SKUS: Readonly<Record<string, number>> = {
  Standard_ND96isr_H100_v5: 8,
  Standard_ND96is_noIB_H100_v5: 8,
  Standard_NC40ads_H100_v5: 1,
  Standard_NC80adis_H100_v5: 2,
  Standard_ND96isr_H200_v5: 8,
  Standard_ND96amsr_A100_v4: 8,
  Standard_ND96asr_v4: 8,
  Standard_NC24ads_A100_v4: 1,
  Standard_NC48ads_A100_v4: 2,
  Standard_NC96ads_A100_v4: 4,
  Standard_ND96isr_MI300X_v5: 8,
  Standard_ND128isr_NDR_GB200_v6: 4,
};

const SKU_MARKERS = ['H100', 'H200', 'A100', 'MI300X', 'GB200', 'ND96asr_v4'];

const configSchema = venueBaseConfig
  .extend({
    regions: z.array(z.string().regex(/^[a-z0-9]+$/, 'an Azure armRegionName such as eastus')).min(1).default(['eastus', 'westeurope', 'southcentralus']),
  })
  .strict();
type AzureConfig = z.infer<typeof configSchema>;

const itemSchema = z.object({
  armSkuName: z.string(),
  armRegionName: z.string().min(1),
  retailPrice: z.number(),
  unitOfMeasure: z.string(),
  meterName: z.string(),
  productName: z.string(),
  type: z.string(),
  currencyCode: z.string().optional(),
});

export const azure: VenueAdapter<AzureConfig> = {
  venue: 'azure',
  parserVersion: 'azure/1',
  apiKeyEnv: null,
  keyRequired: false,
  configSchema,
  buildRequests(config) {
    const skus = SKU_MARKERS.map((m) => `contains(armSkuName,'${m}')`).join(' or ');
    return config.regions.map((region) => {
      const filter = `serviceName eq 'Virtual Machines' and armRegionName eq '${region}' and (${skus})`;
      // encodeURIComponent writes spaces as %20; URLSearchParams would write "+", which OData filters may not decode.
      const url = `${joinUrl(config.base_url ?? 'https://prices.azure.com', '/api/retail/prices')}?api-version=2023-01-01-preview&$filter=${encodeURIComponent(filter)}`;
      return { method: 'GET' as const, url };
    });
  },
  nextPage(json: unknown, current: HttpRequestSpec): HttpRequestSpec | null {
    const next = (json as { NextPageLink?: unknown } | null)?.NextPageLink;
    if (typeof next !== 'string' || next === '') return null;
    // Follow only links on the host we asked, so a payload can never send the collector elsewhere.
    if (new URL(next, current.url).origin !== new URL(current.url).origin) return null;
    return { method: 'GET', url: new URL(next, current.url).toString() };
  },
  parse: rowParser({
    envelope: z.object({ Items: z.array(z.unknown()), NextPageLink: z.string().nullish() }),
    rows: (e) => e.Items,
    row: itemSchema,
    rowId: (raw) => {
      const i = raw as Record<string, unknown>;
      return typeof i?.armSkuName === 'string' ? `${String(i.armRegionName)}/${i.armSkuName}/${String(i.meterName)}` : null;
    },
    toListings: (i, { default_quantity }) => {
      const gpus = AZURE_GPU_SKUS[i.armSkuName];
      if (gpus === undefined) return { ignored: 'not_gpu_sku' };
      if (i.type !== 'Consumption') return { ignored: 'not_consumption' };
      if (i.unitOfMeasure !== '1 Hour') return { ignored: 'not_hourly' };
      if (/windows$/i.test(i.productName)) return { ignored: 'windows' };
      if (/low priority/i.test(i.meterName)) return { ignored: 'low_priority' };
      if (i.retailPrice === 0) return { ignored: 'zero_price' };
      if (i.currencyCode !== undefined && i.currencyCode !== 'USD') {
        return { rejected: 'unsupported_currency', detail: `currencyCode ${i.currencyCode}, expected USD` };
      }
      return [
        {
          listing_id: `${i.armRegionName}/${i.armSkuName}/${i.meterName}`,
          host_id: null,
          gpu: i.armSkuName,
          gpu_count: gpus * default_quantity,
          price_usd_per_hour: i.retailPrice * default_quantity,
          contract: / spot$/i.test(i.meterName) ? 'interruptible' : 'on_demand',
          available: true,
          perf: null,
          region: i.armRegionName,
          quantity_reported: false,
        },
      ];
    },
  }),
};
