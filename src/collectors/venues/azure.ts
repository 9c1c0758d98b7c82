// Azure Retail Prices (public): pay-as-you-go and Spot list prices of GPU VM SKUs, per VM-hour, paginated.
import { z } from 'zod';
import { joinUrl, rowParser, venueBaseConfig, withMemory, type RowMapping, type VenueAdapter } from '../adapter.js';
import type { HttpRequestSpec } from '../http.js';

/** azure/1's table: GPUs per VM. Kept so that snapshots parsed by azure/1 replay identically. */
const AZURE_GPU_SKUS_V1: Readonly<Record<string, number>> = {
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

/**
 * Every GPU VM family of the Retail Prices catalogue we index (azure/2): GPUs per VM and memory per GPU (GB).
 * Both spellings seen in the wild are listed (the ND A100 v4 80 GB SKU appears with and without the "r").
 * Sizes holding a fraction of a GPU (NVads A10 v5 below NV36) have `gpus` below 1 and are ignored as
 * `fractional_gpu`: a listing counts whole GPUs.
 */
export const AZURE_GPU_SKUS: Readonly<Record<string, { gpus: number; memory_gb: number }>> = {
  // ND H100 v5 (H100 SXM 80 GB); NC H100 v5 (H100 NVL 94 GB)
  Standard_ND96isr_H100_v5: { gpus: 8, memory_gb: 80 },
  Standard_ND96is_noIB_H100_v5: { gpus: 8, memory_gb: 80 },
  Standard_NC40ads_H100_v5: { gpus: 1, memory_gb: 94 },
  Standard_NC80adis_H100_v5: { gpus: 2, memory_gb: 94 },
  // ND H200 v5 (141 GB)
  Standard_ND96isr_H200_v5: { gpus: 8, memory_gb: 141 },
  // ND A100 v4: 40 GB (ND96asr_v4) and 80 GB (ND96amsr_A100_v4, also spelled ND96ams_A100_v4)
  Standard_ND96asr_v4: { gpus: 8, memory_gb: 40 },
  Standard_ND96amsr_A100_v4: { gpus: 8, memory_gb: 80 },
  Standard_ND96ams_A100_v4: { gpus: 8, memory_gb: 80 },
  // NC A100 v4 (A100 PCIe 80 GB)
  Standard_NC24ads_A100_v4: { gpus: 1, memory_gb: 80 },
  Standard_NC48ads_A100_v4: { gpus: 2, memory_gb: 80 },
  Standard_NC96ads_A100_v4: { gpus: 4, memory_gb: 80 },
  // ND MI300X v5 (192 GB); ND GB200 v6 (186 GB per Blackwell GPU)
  Standard_ND96isr_MI300X_v5: { gpus: 8, memory_gb: 192 },
  Standard_ND128isr_NDR_GB200_v6: { gpus: 4, memory_gb: 186 },
  // NCv3 (V100 16 GB); ND40rs v2 (V100 SXM2 32 GB)
  Standard_NC6s_v3: { gpus: 1, memory_gb: 16 },
  Standard_NC12s_v3: { gpus: 2, memory_gb: 16 },
  Standard_NC24s_v3: { gpus: 4, memory_gb: 16 },
  Standard_NC24rs_v3: { gpus: 4, memory_gb: 16 },
  Standard_ND40rs_v2: { gpus: 8, memory_gb: 32 },
  // NC T4 v3 (16 GB)
  Standard_NC4as_T4_v3: { gpus: 1, memory_gb: 16 },
  Standard_NC8as_T4_v3: { gpus: 1, memory_gb: 16 },
  Standard_NC16as_T4_v3: { gpus: 1, memory_gb: 16 },
  Standard_NC64as_T4_v3: { gpus: 4, memory_gb: 16 },
  // NVads A10 v5 (24 GB): 1/6, 1/3 and 1/2 of a GPU below NV36
  Standard_NV6ads_A10_v5: { gpus: 1 / 6, memory_gb: 24 },
  Standard_NV12ads_A10_v5: { gpus: 1 / 3, memory_gb: 24 },
  Standard_NV18ads_A10_v5: { gpus: 1 / 2, memory_gb: 24 },
  Standard_NV36ads_A10_v5: { gpus: 1, memory_gb: 24 },
  Standard_NV36adms_A10_v5: { gpus: 1, memory_gb: 24 },
  Standard_NV72ads_A10_v5: { gpus: 2, memory_gb: 24 },
};

/** Substrings of armSkuName the request filters on: together they match every SKU of the table. */
const SKU_MARKERS = ['H100', 'H200', 'A100', 'MI300X', 'GB200', 'ND96asr_v4', 'NC6s_v3', 'NC12s_v3', 'NC24s_v3', 'NC24rs_v3', 'ND40rs_v2', 'T4_v3', 'A10_v5'];

const configSchema = venueBaseConfig
  .extend({
    regions: z
      .array(z.string().regex(/^[a-z0-9]+$/, 'an Azure armRegionName such as eastus'))
      .min(1)
      .default(['eastus', 'westeurope', 'southcentralus']),
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

type AzureItem = z.infer<typeof itemSchema>;

const azureRows = {
  envelope: z.object({ Items: z.array(z.unknown()), NextPageLink: z.string().nullish() }),
  rows: (e: { Items: unknown[] }) => e.Items,
  rowId: (raw: unknown) => {
    const i = raw as Record<string, unknown>;
    return typeof i?.armSkuName === 'string' ? `${String(i.armRegionName)}/${i.armSkuName}/${String(i.meterName)}` : null;
  },
};

/** A priced, hourly, Linux, pay-as-you-go or Spot VM item of a known SKU as a listing; anything else with its reason. */
function vmListing(i: AzureItem, gpus: number, defaultQuantity: number): RowMapping {
  if (i.type === 'Reservation') return { ignored: 'reservation' };
  if (i.type === 'DevTestConsumption') return { ignored: 'dev_test' };
  if (i.type !== 'Consumption') return { ignored: 'not_consumption' };
  if (i.unitOfMeasure !== '1 Hour') return { ignored: 'not_hourly' };
  if (/windows$/i.test(i.productName)) return { ignored: 'windows' };
  if (/low priority/i.test(i.meterName)) return { ignored: 'low_priority' };
  if (i.retailPrice === 0) return { ignored: 'zero_price' };
  if (!Number.isInteger(gpus)) return { ignored: 'fractional_gpu' };
  if (i.currencyCode !== undefined && i.currencyCode !== 'USD') {
    return { rejected: 'unsupported_currency', detail: `currencyCode ${i.currencyCode}, expected USD` };
  }
  return [
    {
      listing_id: `${i.armRegionName}/${i.armSkuName}/${i.meterName}`,
      host_id: null,
      gpu: i.armSkuName,
      gpu_count: gpus * defaultQuantity,
      price_usd_per_hour: i.retailPrice * defaultQuantity,
      contract: / spot$/i.test(i.meterName) ? 'interruptible' : 'on_demand',
      available: true,
      perf: null,
      region: i.armRegionName,
      quantity_reported: false,
    },
  ];
}

/**
 * azure/2: the full SKU table with memory per GPU; reservations, dev/test, Low Priority, Windows, zero prices and
 * fractional GPUs ignored each with its own reason (stored per snapshot), so a lost SKU never looks like a skipped
 * reservation.
 */
const parseAzureV2 = rowParser({
  ...azureRows,
  row: itemSchema,
  toListings: (i, { default_quantity }) => {
    const sku = AZURE_GPU_SKUS[i.armSkuName];
    return sku === undefined ? { ignored: 'not_gpu_sku' } : withMemory(vmListing(i, sku.gpus, default_quantity), sku.memory_gb);
  },
});

/** azure/1: the first SKU table, reservations as `not_consumption`, no memory. Kept so that its snapshots replay identically. */
export const parseAzureV1 = rowParser({
  ...azureRows,
  row: itemSchema,
  toListings: (i, { default_quantity }) => {
    const gpus = AZURE_GPU_SKUS_V1[i.armSkuName];
    if (gpus === undefined) return { ignored: 'not_gpu_sku' };
    if (i.type !== 'Consumption') return { ignored: 'not_consumption' };
    return vmListing(i, gpus, default_quantity);
  },
});

export const azure: VenueAdapter<AzureConfig> = {
  venue: 'azure',
  parserVersion: 'azure/2',
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
  parse: parseAzureV2,
};
