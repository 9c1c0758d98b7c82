// Vast-shaped offer searches for benchmarks: the fields of a recorded Vast offer, with every per-machine value
// (ids, prices, benchmark, reliability, bandwidth, address, dates) drawn afresh per offer so that a body
// compresses as a real search does, not as copies of one offer. Deterministic from a seed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from './synthetic-day.js';

const recorded = (
  JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures/venues/vast/offers.json'), 'utf8')) as { offers: Record<string, unknown>[] }
).offers;
const COMPACT_FIELDS = [
  'id',
  'ask_contract_id',
  'host_id',
  'machine_id',
  'gpu_name',
  'num_gpus',
  'gpu_ram',
  'dph_total',
  'dph_base',
  'dlperf',
  'rentable',
  'rented',
  'geolocation',
  'reliability2',
  'verification',
  'hosting_type',
  'min_bid',
  'cpu_cores',
  'disk_space',
  'cuda_max_good',
];
const GPUS: [string, number, number][] = [
  ['H100 SXM', 2.2, 81559],
  ['H100 NVL', 2.1, 95830],
  ['A100 SXM4', 1.1, 81920],
  ['A100 SXM4', 0.7, 40960],
  ['RTX 4090', 0.35, 24564],
  ['RTX 3090', 0.2, 24576],
  ['L40S', 0.8, 46068],
  ['RTX A6000', 0.45, 49140],
  ['H200', 3.2, 143771],
];
const PLACES = ['Montana, US', 'Texas, US', 'Japan, JP', 'Romania, RO', 'Norway, NO', 'Taiwan, TW', 'Quebec, CA', 'Bavaria, DE'];

/** `full`: all ~100 fields of a recorded offer (~2.7 KB each); `compact`: 20 of them (~350 B). */
export type VastShape = 'full' | 'compact';

export function vastSearchBody(seed: number, offers: number, shape: VastShape): Buffer {
  const r = rng(seed);
  const list = Array.from({ length: offers }, (_, k) => {
    const base = recorded[k % recorded.length]!;
    const template = shape === 'full' ? base : Object.fromEntries(COMPACT_FIELDS.map((f) => [f, base[f]]));
    const [gpu, level, ram] = GPUS[Math.floor(r() * GPUS.length)]!;
    const n = [1, 1, 2, 4, 8][Math.floor(r() * 5)]!;
    const id = 40_000_000 + Math.floor(r() * 9_000_000);
    const dph = n * level * (0.7 + r() * 0.6);
    const offer: Record<string, unknown> = {
      ...template,
      id,
      ask_contract_id: id,
      host_id: 100_000 + Math.floor(r() * 300_000),
      machine_id: 10_000 + Math.floor(r() * 90_000),
      gpu_name: gpu,
      gpu_ram: ram,
      num_gpus: n,
      dph_total: dph,
      dph_base: dph * 0.99,
      // The bid floor makes the parser read a second, interruptible observation from each offer.
      min_bid: dph * 0.5,
      dlperf: n * (100 + r() * 300),
      geolocation: PLACES[Math.floor(r() * PLACES.length)],
      reliability2: 0.8 + r() * 0.2,
      rented: r() < 0.3,
    };
    if (shape === 'full') {
      Object.assign(offer, {
        bundle_id: 2_000_000_000 + k,
        dph_total_adj: dph * 1.0002,
        discounted_dph_total: dph,
        dlperf_per_dphtotal: (offer.dlperf as number) / dph,
        reliability: offer.reliability2,
        score: r() * 500,
        inet_down: r() * 9000,
        inet_up: r() * 5000,
        disk_bw: r() * 6000,
        duration: r() * 3e6,
        end_date: 1_786_000_000 + Math.floor(r() * 1e6),
        public_ipaddr: `${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}`,
      });
    }
    return offer;
  });
  return Buffer.from(JSON.stringify({ offers: list }));
}
