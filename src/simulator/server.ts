// The market simulator over real HTTP on loopback: each venue's API paths, answering from the deterministic
// market at the simulated clock's time, with scheduled faults (an outage, a 429 burst, a malformed payload, a
// schema change). The real collectors reach it through their normal `base_url` configuration.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MS } from './market.js';
import { akashGpuPrices, AZURE_PAGE_SIZE, azureItems, lambdaInstanceTypes, runpodGpuTypes, tensordockLocations, vastOffers } from './venues.js';

export type FaultKind = 'down' | 'rate_limit' | 'malformed' | 'schema_change';

export interface Fault {
  venue: 'vast' | 'runpod' | 'lambda' | 'tensordock' | 'akash' | 'azure';
  kind: FaultKind;
  /** [from, to) in simulated ms. */
  from: number;
  to: number;
}

/** The demo's faults, relative to the first simulated day: they land on days 2 and 3 of any run of 3 days or more. */
export function defaultFaults(firstDay: number): Fault[] {
  const d = (days: number, hours = 0) => firstDay + days * MS.DAY + hours * MS.HOUR;
  return [
    // Vast.ai down for 26 hours: the whole of day 2 loses the marketplace with most listings.
    { venue: 'vast', kind: 'down', from: d(1, -1), to: d(2, 1) },
    { venue: 'runpod', kind: 'rate_limit', from: d(0, 12), to: d(0, 13) },
    { venue: 'akash', kind: 'malformed', from: d(2, 6), to: d(2, 7) },
    { venue: 'lambda', kind: 'schema_change', from: d(2, 12), to: d(2, 18) },
  ];
}

export interface SimulatorOptions {
  seed: number;
  /** Multiplies marketplace listings per venue. */
  scale: number;
  clock: () => number;
  faults?: Fault[];
}

export interface Simulator {
  url: string;
  /** Requests answered, by venue and status. */
  stats: Map<string, number>;
  close(): Promise<void>;
}

const KEYED = new Set(['runpod', 'lambda', 'tensordock']);

function route(method: string, path: string): Fault['venue'] | null {
  if (method === 'POST' && path === '/api/v0/bundles/') return 'vast';
  if (method === 'POST' && path === '/graphql') return 'runpod';
  if (method === 'GET' && path === '/api/v1/instance-types') return 'lambda';
  if (method === 'GET' && path === '/api/v2/locations') return 'tensordock';
  if (method === 'GET' && path === '/v1/gpu-prices') return 'akash';
  if (method === 'GET' && path === '/api/retail/prices') return 'azure';
  return null;
}

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const faults = opts.faults ?? [];
  const stats = new Map<string, number>();
  // A rate-limited request is refused once per venue and instant, then served: the collector's retry succeeds.
  const refused = new Set<string>();
  let origin = '';

  const send = (res: ServerResponse, venue: string, status: number, body: string, headers: Record<string, string> = {}) => {
    stats.set(`${venue} ${status}`, (stats.get(`${venue} ${status}`) ?? 0) + 1);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    for await (const _ of req); // drain the request body; the simulated venues ignore query details
    const url = new URL(req.url ?? '/', origin);
    const venue = route(req.method ?? 'GET', url.pathname);
    if (!venue) return send(res, 'unknown', 404, JSON.stringify({ error: 'not found' }));
    if (KEYED.has(venue) && !req.headers.authorization?.startsWith('Bearer ')) return send(res, venue, 401, JSON.stringify({ error: 'missing API key' }));
    const t = opts.clock();
    const fault = faults.find((f) => f.venue === venue && t >= f.from && t < f.to);
    if (fault?.kind === 'down')
      return send(res, venue, 503, '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>', { 'content-type': 'text/html' });
    if (fault?.kind === 'rate_limit' && !refused.has(`${venue}@${t}`)) {
      refused.add(`${venue}@${t}`);
      return send(res, venue, 429, JSON.stringify({ error: 'too many requests' }), { 'retry-after': '1' });
    }
    let body: unknown;
    switch (venue) {
      case 'vast':
        body = vastOffers(opts.seed, t, opts.scale);
        break;
      case 'runpod':
        body = runpodGpuTypes(opts.seed, t);
        break;
      case 'lambda':
        body = lambdaInstanceTypes(opts.seed, t, fault?.kind === 'schema_change' ? 'price_usd_cents_hourly' : 'price_cents_per_hour');
        break;
      case 'tensordock':
        body = tensordockLocations(opts.seed, t, opts.scale);
        break;
      case 'akash':
        body = akashGpuPrices(opts.seed, t, opts.scale);
        break;
      case 'azure': {
        const region = /armRegionName eq '([a-z0-9]+)'/.exec(url.searchParams.get('$filter') ?? '')?.[1] ?? 'eastus';
        const skip = Number(url.searchParams.get('$skip') ?? 0);
        const items = azureItems(opts.seed, t, region);
        const next = skip + AZURE_PAGE_SIZE < items.length ? new URL(url.toString()) : null;
        next?.searchParams.set('$skip', String(skip + AZURE_PAGE_SIZE));
        body = {
          BillingCurrency: 'USD',
          CustomerEntityId: 'Default',
          CustomerEntityType: 'Retail',
          Items: items.slice(skip, skip + AZURE_PAGE_SIZE),
          NextPageLink: next?.toString() ?? null,
          Count: Math.min(AZURE_PAGE_SIZE, items.length - skip),
        };
        break;
      }
    }
    const text = JSON.stringify(body);
    // A malformed payload: the connection's bytes end mid-document.
    return send(res, venue, 200, fault?.kind === 'malformed' ? text.slice(0, Math.floor(text.length / 2)) : text);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 'error', 500, JSON.stringify({ error: String(err) })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
