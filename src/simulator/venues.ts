// Each venue's API response at time t, shaped exactly as the venue shapes it (see fixtures/venues and
// ../shared/reference-payloads): per-machine prices on Vast, per-GPU list prices on RunPod, cents per instance
// on Lambda, per-location stock on TensorDock, weighted averages on Akash, per-VM retail meters on Azure.
import { listPrice, marketplaceListings, SIM_CLASSES, unit, type SimClass } from './market.js';

const byCode = new Map(SIM_CLASSES.map((c) => [c.code, c]));
const cls = (code: string): SimClass => byCode.get(code)!;

/** Raw names as each venue writes them (they map to classes through the methodology's aliases). */
const VAST_NAMES: Record<string, string> = {
  'H100-SXM': 'H100 SXM',
  'H100-PCIE': 'H100 PCIE',
  'H100-NVL': 'H100 NVL',
  H200: 'H200',
  B200: 'B200',
  'A100-SXM-80': 'A100 SXM4',
  // Vast names the 40 GB and the 80 GB A100 alike: only gpu_ram tells them apart.
  'A100-PCIE-80': 'A100 PCIE',
  'A100-40': 'A100 SXM4',
  L40S: 'L40S',
  L40: 'L40',
  L4: 'L4',
  A6000: 'RTX A6000',
  A40: 'A40',
  'RTX-6000-ADA': 'RTX 6000Ada',
  'RTX-4090': 'RTX 4090',
  'RTX-3090': 'RTX 3090',
  'RTX-5090': 'RTX 5090',
  MI300X: 'MI300X',
  'V100-16': 'Tesla V100',
};

/** Memory per GPU as Vast reports it (`gpu_ram`, MB): a little under the nominal size for most parts. */
const VAST_RAM_MB: Record<string, number> = {
  'H100-SXM': 81_559,
  'H100-PCIE': 81_559,
  'H100-NVL': 95_830,
  H200: 143_771,
  B200: 183_359,
  'A100-SXM-80': 81_920,
  'A100-PCIE-80': 81_920,
  'A100-40': 40_960,
  L40S: 46_068,
  L40: 46_068,
  L4: 23_034,
  A6000: 49_140,
  A40: 46_068,
  'RTX-6000-ADA': 49_140,
  'RTX-4090': 24_564,
  'RTX-3090': 24_576,
  'RTX-5090': 32_607,
  MI300X: 196_608,
  'V100-16': 16_384,
};

export function vastOffers(seed: number, t: number, scale: number): unknown {
  const offers = marketplaceListings(seed, 'vast', t, scale, { spotShare: 0, perf: true, spread: 0.7 }).map((l, i) => ({
    id: 10_000_000 + Math.floor(unit(seed, l.id) * 89_999_999),
    ask_contract_id: 10_000_000 + i,
    host_id: Number(l.host.split('-').pop()),
    // Offers of one host and class run on one machine: Vast lists several slices of a machine at once.
    machine_id: 20_000 + Math.floor(unit(seed, l.host, l.cls.code, 'machine') * 9_000_000),
    gpu_name: VAST_NAMES[l.cls.code]!,
    num_gpus: l.gpus,
    gpu_ram: VAST_RAM_MB[l.cls.code]!,
    // Vast quotes the whole machine: dph_total and dlperf cover all its GPUs.
    dph_total: Math.round(l.pricePerGpu * l.gpus * 1e6) / 1e6,
    dph_base: Math.round(l.pricePerGpu * l.gpus * 0.95 * 1e6) / 1e6,
    // The interruptible floor, for the whole machine: well under the on-demand price, and absurd when that is;
    // about one offer in ten has a floor above its own ask, as 5 of 48 real offers do (up to 3.5 times it).
    min_bid: Math.round(l.pricePerGpu * l.gpus * bidMultiple(seed, l.id) * 1e6) / 1e6,
    dlperf: Math.round((l.perfPerGpu ?? 0) * l.gpus * 1000) / 1000,
    rentable: true,
    rented: l.rented,
    geolocation: l.region.includes('/') ? `${l.region.split('/')[1]}, ${l.region.split('/')[0]}` : l.region,
    reliability2: 0.99,
    verification: 'verified',
  }));
  return { offers };
}

function bidMultiple(seed: number, id: string): number {
  return unit(seed, id, 'bid-above-ask') < 0.1 ? 1.1 + unit(seed, id, 'bid-high') * 2.4 : 0.45 + unit(seed, id, 'bid') * 0.25;
}

const RUNPOD_IDS: [string, string][] = [
  ['H100-SXM', 'NVIDIA H100 80GB HBM3'],
  ['H100-PCIE', 'NVIDIA H100 PCIe'],
  ['H100-NVL', 'NVIDIA H100 NVL'],
  ['H200', 'NVIDIA H200'],
  ['B200', 'NVIDIA B200'],
  ['A100-SXM-80', 'NVIDIA A100-SXM4-80GB'],
  ['A100-PCIE-80', 'NVIDIA A100 80GB PCIe'],
  ['L40S', 'NVIDIA L40S'],
  ['L40', 'NVIDIA L40'],
  ['L4', 'NVIDIA L4'],
  ['A6000', 'NVIDIA RTX A6000'],
  ['A40', 'NVIDIA A40'],
  ['RTX-6000-ADA', 'NVIDIA RTX 6000 Ada Generation'],
  ['RTX-4090', 'NVIDIA GeForce RTX 4090'],
  ['RTX-3090', 'NVIDIA GeForce RTX 3090'],
  ['RTX-5090', 'NVIDIA GeForce RTX 5090'],
  ['MI300X', 'AMD Instinct MI300X OAM'],
];

export function runpodGpuTypes(seed: number, t: number): unknown {
  const gpuTypes = RUNPOD_IDS.map(([code, id]) => {
    const c = cls(code);
    const secure = listPrice(seed, c, t, 1.25);
    const community = listPrice(seed, c, t, 1.0);
    const hour = Math.floor(t / 3_600_000);
    const stock = unit(seed, 'runpod', code, 'stock', hour);
    return {
      id,
      displayName: id.replace(/^(NVIDIA|AMD) /, ''),
      memoryInGb: Math.round(VAST_RAM_MB[code]! / 1024),
      secureCloud: true,
      communityCloud: code !== 'B200' && code !== 'MI300X',
      securePrice: secure,
      communityPrice: community,
      secureSpotPrice: Math.round(secure * 0.6 * 100) / 100,
      communitySpotPrice: Math.round(community * 0.55 * 100) / 100,
      lowestPrice: {
        minimumBidPrice: Math.round(community * 0.5 * 100) / 100,
        uninterruptablePrice: community,
        stockStatus: stock < 0.1 ? null : stock < 0.5 ? 'Low' : 'High',
      },
    };
  });
  return { data: { gpuTypes } };
}

const LAMBDA_TYPES: { name: string; code: string; gpus: number; desc: string }[] = [
  { name: 'gpu_8x_h100_sxm5', code: 'H100-SXM', gpus: 8, desc: 'H100 (80 GB SXM5)' },
  { name: 'gpu_1x_h100_pcie', code: 'H100-PCIE', gpus: 1, desc: 'H100 (80 GB PCIe)' },
  { name: 'gpu_8x_a100_80gb_sxm4', code: 'A100-SXM-80', gpus: 8, desc: 'A100 (80 GB SXM4)' },
  { name: 'gpu_1x_a100_sxm4', code: 'A100-40', gpus: 1, desc: 'A100 (40 GB SXM4)' },
  { name: 'gpu_1x_a6000', code: 'A6000', gpus: 1, desc: 'RTX A6000 (48 GB)' },
  { name: 'gpu_8x_b200_sxm6', code: 'B200', gpus: 8, desc: 'B200 (180 GB SXM6)' },
  { name: 'gpu_8x_h200_sxm5', code: 'H200', gpus: 8, desc: 'H200 (141 GB SXM5)' },
];
const LAMBDA_REGIONS = ['us-east-1', 'us-west-1', 'us-south-1', 'europe-central-1'];

/** `priceField` lets a fault rename the price field (a schema change). */
export function lambdaInstanceTypes(seed: number, t: number, priceField = 'price_cents_per_hour'): unknown {
  const hour = Math.floor(t / 3_600_000);
  const data: Record<string, unknown> = {};
  for (const it of LAMBDA_TYPES) {
    const perGpu = listPrice(seed, cls(it.code), t, 1.3);
    data[it.name] = {
      instance_type: {
        name: it.name,
        description: `${it.gpus}x ${it.desc}`,
        gpu_description: it.desc,
        [priceField]: Math.round(perGpu * it.gpus * 100),
        specs: { vcpus: 26 * it.gpus, memory_gib: 225 * it.gpus, storage_gib: 512 * it.gpus, gpus: it.gpus },
      },
      regions_with_capacity_available: LAMBDA_REGIONS.filter((r) => unit(seed, 'lambda', it.name, r, hour) < 0.45).map((r) => ({ name: r, description: r })),
    };
  }
  return { data };
}

const TD_NAMES: Record<string, string> = {
  'H100-SXM': 'h100-sxm5-80gb',
  'H100-PCIE': 'h100-pcie-80gb',
  H200: 'h200-sxm5-141gb',
  'A100-SXM-80': 'a100-sxm4-80gb',
  'A100-PCIE-80': 'a100-pcie-80gb',
  'A100-40': 'a100-pcie-40gb',
  L40S: 'l40s-pcie-48gb',
  L40: 'l40-pcie-48gb',
  A6000: 'rtxa6000-pcie-48gb',
  A40: 'a40-pcie-48gb',
  'RTX-6000-ADA': 'rtx6000ada-pcie-48gb',
  'RTX-4090': 'geforcertx4090-pcie-24gb',
  'RTX-3090': 'geforcertx3090-pcie-24gb',
  'RTX-5090': 'geforcertx5090-pcie-32gb',
  'V100-16': 'v100-sxm2-16gb',
};
const TD_LOCATIONS = [
  { id: '1b1f2c3d-0000-4e6a-9f00-0000000000a1', city: 'Chicago', stateprovince: 'Illinois', country: 'United States' },
  { id: '1b1f2c3d-0000-4e6a-9f00-0000000000a2', city: 'Dallas', stateprovince: 'Texas', country: 'United States' },
  { id: '1b1f2c3d-0000-4e6a-9f00-0000000000a3', city: 'Frankfurt', stateprovince: 'Hesse', country: 'Germany' },
  { id: '1b1f2c3d-0000-4e6a-9f00-0000000000a4', city: 'Toronto', stateprovince: 'Ontario', country: 'Canada' },
  { id: '1b1f2c3d-0000-4e6a-9f00-0000000000a5', city: 'Stockholm', stateprovince: null, country: 'Sweden' },
];

export function tensordockLocations(seed: number, t: number, scale: number): unknown {
  const hour = Math.floor(t / 3_600_000);
  const locations = TD_LOCATIONS.map((loc) => ({
    ...loc,
    tier: 3,
    gpus: Object.entries(TD_NAMES)
      .filter(([code]) => unit(seed, 'tensordock', loc.id, code, 'offers') < 0.6)
      .map(([code, v0Name]) => ({
        v0Name,
        displayName: v0Name.toUpperCase(),
        max_count:
          unit(seed, 'tensordock', loc.id, code, 'stock', hour) < 0.15
            ? 0
            : Math.max(1, Math.round(8 * scale * unit(seed, 'tensordock', loc.id, code, 'count', Math.floor(hour / 6)))),
        price_per_hr: Math.round(listPrice(seed, cls(code), t, 0.95 + unit(seed, 'tensordock', loc.id, code, 'premium') * 0.2) * 100) / 100,
        resources: { max_vcpus: 64, max_ram_gb: 512, max_storage_gb: 4000 },
      })),
  }));
  return { data: { locations } };
}

const AKASH_MODELS: { code: string; model: string; ram: string; iface: string }[] = [
  { code: 'H100-SXM', model: 'h100', ram: '80Gi', iface: 'SXM5' },
  { code: 'H100-PCIE', model: 'h100', ram: '80Gi', iface: 'PCIe' },
  { code: 'A100-SXM-80', model: 'a100', ram: '80Gi', iface: 'SXM4' },
  { code: 'A100-PCIE-80', model: 'a100', ram: '80Gi', iface: 'PCIe' },
  { code: 'A100-40', model: 'a100', ram: '40Gi', iface: 'PCIe' },
  { code: 'L40S', model: 'l40s', ram: '48Gi', iface: 'PCIe' },
  { code: 'L4', model: 'l4', ram: '24Gi', iface: 'PCIe' },
  { code: 'A6000', model: 'a6000', ram: '48Gi', iface: 'PCIe' },
  { code: 'RTX-4090', model: 'rtx4090', ram: '24Gi', iface: 'PCIe' },
  { code: 'RTX-3090', model: 'rtx3090', ram: '24Gi', iface: 'PCIe' },
  { code: 'H200', model: 'h200', ram: '141Gi', iface: 'SXM5' },
];

export function akashGpuPrices(seed: number, t: number, scale: number): unknown {
  const hour = Math.floor(t / 3_600_000);
  const models = AKASH_MODELS.map((m) => {
    const total = Math.max(1, Math.round(24 * scale * (0.5 + unit(seed, 'akash', m.code, 'total'))));
    const available = Math.floor(total * unit(seed, 'akash', m.code, 'free', hour));
    const wa = listPrice(seed, cls(m.code), t, 0.85);
    const noBids = unit(seed, 'akash', m.code, 'bids', Math.floor(hour / 12)) < 0.05;
    return {
      vendor: 'nvidia',
      model: m.model,
      ram: m.ram,
      interface: m.iface,
      availability: { total, available },
      providerAvailability: { total: Math.ceil(total / 8), available: Math.ceil(available / 8) },
      price: noBids
        ? null
        : { currency: 'USD', min: Math.round(wa * 0.7 * 100) / 100, max: Math.round(wa * 1.4 * 100) / 100, avg: wa, weightedAverage: wa, med: wa },
    };
  });
  return {
    availability: { total: models.reduce((n, m) => n + m.availability.total, 0), available: models.reduce((n, m) => n + m.availability.available, 0) },
    models,
  };
}

const AZURE_SKUS: { sku: string; code: string; gpus: number; meter: string; product: string }[] = [
  { sku: 'Standard_ND96isr_H100_v5', code: 'H100-SXM', gpus: 8, meter: 'ND96isr H100 v5', product: 'Virtual Machines NDisrH100v5 Series' },
  { sku: 'Standard_NC40ads_H100_v5', code: 'H100-NVL', gpus: 1, meter: 'NC40ads H100 v5', product: 'Virtual Machines NCadsH100v5 Series' },
  { sku: 'Standard_NC80adis_H100_v5', code: 'H100-NVL', gpus: 2, meter: 'NC80adis H100 v5', product: 'Virtual Machines NCadsH100v5 Series' },
  { sku: 'Standard_ND96isr_H200_v5', code: 'H200', gpus: 8, meter: 'ND96isr H200 v5', product: 'Virtual Machines NDisrH200v5 Series' },
  { sku: 'Standard_ND96amsr_A100_v4', code: 'A100-SXM-80', gpus: 8, meter: 'ND96amsr A100 v4', product: 'Virtual Machines NDamsrA100v4 Series' },
  { sku: 'Standard_NC24ads_A100_v4', code: 'A100-PCIE-80', gpus: 1, meter: 'NC24ads A100 v4', product: 'Virtual Machines NCadsA100v4 Series' },
  { sku: 'Standard_ND96asr_v4', code: 'A100-40', gpus: 8, meter: 'ND96asr v4', product: 'Virtual Machines NDasrA100v4 Series' },
  { sku: 'Standard_ND96isr_MI300X_v5', code: 'MI300X', gpus: 8, meter: 'ND96isr MI300X v5', product: 'Virtual Machines NDisrMI300Xv5 Series' },
];
/**
 * Items per page. The real API pages by 1,000; 20 still makes a region's GPU prices span two pages, so the demo
 * exercises the collector's paging (10 made three pages a region: 60% of all demo snapshots were Azure's).
 */
export const AZURE_PAGE_SIZE = 20;

/** One page of retail prices for a region: Linux on-demand and Spot meters, plus the Windows and Low Priority rows a filter must skip. */
export function azureItems(seed: number, t: number, region: string): unknown[] {
  const items: unknown[] = [];
  const regional = 1 + (unit(seed, 'azure', region, 'premium') - 0.5) * 0.1;
  for (const s of AZURE_SKUS) {
    // Hyperscaler list prices sit far above marketplaces: about 5.5 times per GPU-hour.
    const vm = Math.round(listPrice(seed, cls(s.code), t, 5.5) * s.gpus * regional * 100) / 100;
    const base = {
      currencyCode: 'USD',
      tierMinimumUnits: 0,
      armRegionName: region,
      location: region,
      effectiveStartDate: '2025-06-01T00:00:00Z',
      unitOfMeasure: '1 Hour',
      serviceName: 'Virtual Machines',
      serviceFamily: 'Compute',
      type: 'Consumption',
      isPrimaryMeterRegion: true,
      armSkuName: s.sku,
    };
    items.push({ ...base, retailPrice: vm, unitPrice: vm, meterName: s.meter, productName: s.product, skuName: s.meter });
    items.push({
      ...base,
      retailPrice: Math.round(vm * 0.35 * 100) / 100,
      unitPrice: Math.round(vm * 0.35 * 100) / 100,
      meterName: `${s.meter} Spot`,
      productName: s.product,
      skuName: `${s.meter} Spot`,
    });
    items.push({
      ...base,
      retailPrice: Math.round(vm * 1.1 * 100) / 100,
      unitPrice: Math.round(vm * 1.1 * 100) / 100,
      meterName: s.meter,
      productName: `${s.product} Windows`,
      skuName: s.meter,
    });
  }
  return items;
}
