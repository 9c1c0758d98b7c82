// The publication API: a read-only Hono app under /v1 serving signed fixings, their history, revisions and audit
// trail, the raw snapshots behind them, the methodology, signing keys and health, settlements, cross-series queries
// and the dashboard at /. Every parameter is parsed by the zod schemas that also generate /openapi.json; every error
// is problem+json. This file holds the middleware and joins the route modules of routes/ (one per resource) with
// app.route(); published.ts holds the caches of published revisions they share.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpenAPIHono } from '@hono/zod-openapi';
import { compress } from 'hono/compress';
import { PatternRouter } from 'hono/router/pattern-router';
import { cors } from 'hono/cors';
import { etag } from 'hono/etag';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../log/index.js';
import { seriesCatalog } from '../methodology/series.js';
import { loadMethodologies, METHODOLOGY_DIR, UnknownMethodologyError, type Methodology } from '../methodology/params.js';
import type { Db } from '../storage/index.js';
import { problem, validationProblem } from './problem.js';
import { settlementRoutes } from './routes/settlements.js';
import { queryRoutes } from './routes/queries.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { describeFields } from './descriptions.js';
import { SHORT, toArrayBuffer } from './http.js';
import { docsRoutes } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { registryRoutes } from './routes/registry.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { seriesRoutes } from './routes/series.js';
import { publishedRevisions } from './published.js';

export interface HealthPolicy {
  /** The newest fixing date may end at most this many hours ago. */
  max_fixing_age_hours: number;
  /** The newest successful collector run may be at most this many minutes old. */
  max_collection_age_minutes: number;
}

export interface AppDeps {
  db: Db;
  clock: () => number;
  log?: Logger;
  health?: HealthPolicy;
  /** Longest history range one request may ask for, in days. */
  maxRangeDays?: number;
  /** How long a looked-up latest fixing is reused (default 1000 ms; 0 looks it up on every request). */
  latestTtlMs?: number;
}

const _DAY_MS = 86_400_000;
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const SERVED_TYPES = ['application/json', 'application/problem+json', 'text/csv', 'application/octet-stream', 'text/html', 'text/css', 'text/javascript'];

/** Whether an Accept header admits one of the types this API serves (a range with q=0 admits nothing). */
function acceptable(accept: string): boolean {
  return accept.split(',').some((part) => {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    if (params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p))) return false;
    const [type, sub] = range.trim().split('/');
    if (range.trim() === '*/*' || range.trim() === '*') return true;
    return SERVED_TYPES.some((t) => (sub === '*' ? t.startsWith(`${type}/`) : t === range.trim()));
  });
}

const varyOnEncoding: MiddlewareHandler = async (c, next) => {
  c.header('vary', 'Accept-Encoding');
  await next();
};

export function createApp(deps: AppDeps) {
  const { db, clock } = deps;
  const health = deps.health ?? { max_fixing_age_hours: 50, max_collection_age_minutes: 60 };
  const maxRangeDays = deps.maxRangeDays ?? 3660;
  const methodologies = loadMethodologies();
  const latestMethodology = methodologies[methodologies.length - 1]!;
  const byVersion = new Map(methodologies.map((m) => [m.version, m]));
  const methodologyOf = (version: string): Methodology => {
    const m = byVersion.get(version);
    if (!m) throw new UnknownMethodologyError(version, [...byVersion.keys()]);
    return m;
  };
  const methodologyText = readFileSync(join(METHODOLOGY_DIR, 'METHODOLOGY.md'), 'utf8');
  const catalog = new Map(seriesCatalog(latestMethodology).map((x) => [x.code, x]));
  const latestTtlMs = deps.latestTtlMs ?? 1000;
  const revisions = publishedRevisions(db, latestTtlMs);
  const app = new OpenAPIHono({
    // A dozen routes, two of them overlapping (/fixings/latest and /fixings/{date}): the pattern router
    // serves them faster than the default's trie fallback.
    router: new PatternRouter(),
    defaultHook: (result, c) => {
      if (!result.success) return validationProblem(c, result.target, result.error);
      return undefined;
    },
  });

  // Hono's cors() and compress() rebuild every response they touch (measured: a third of the request rate on a
  // small body), so preflights go through cors(), a plain GET only gains its one header after the handler, and
  // compression is applied on the routes whose bodies are large.
  app.on('OPTIONS', '*', cors({ origin: '*', allowMethods: ['GET', 'HEAD', 'OPTIONS'] }));
  // One middleware for every request (each layer costs every request its own promise): a read-only API answers
  // any other method 405 with the methods it allows and an Accept it cannot serve 406, before any route runs; CORS
  // is opened on every GET; one log line per request: method, path (never the query, which could carry a secret),
  // status, duration.
  app.use('*', async (c, next) => {
    const start = performance.now();
    const accept = c.req.header('accept');
    if (!READ_METHODS.has(c.req.method)) {
      c.header('allow', 'GET, HEAD, OPTIONS');
      c.res = problem(c, 405, `${c.req.method} is not allowed: this API is read-only (GET, HEAD, OPTIONS)`);
    } else if (accept && !acceptable(accept)) {
      c.res = problem(
        c,
        406,
        `cannot answer with any type in Accept: ${accept.slice(0, 200)}; this API serves application/json, text/csv (history), application/octet-stream (raw snapshots) and text/html (reference)`,
      );
    } else await next();
    c.res.headers.set('access-control-allow-origin', '*');
    deps.log?.info(`${c.req.method} ${c.req.path} ${c.res.status} ${(performance.now() - start).toFixed(1)}ms`);
  });
  // Bodies built once (history, the cross-section, several series' history, health) carry their gzip form made once
  // (http.ts sendCached); these routes build theirs per request.
  for (const path of ['/openapi.json', '/v1/series', '/v1/series/:code/fixings/:date/audit', '/v1/methodology', '/v1/methodology/:version', '/v1/revisions']) {
    // Vary named before the route runs: compress() would otherwise add it to the finished response, which remakes
    // it as a stream (measured: a cached 94 KB body served at a quarter of the rate).
    app.use(path, varyOnEncoding, compress());
  }
  // Hash bodies synchronously: the default WebCrypto digest waits on the thread pool for every response.
  app.use('*', etag({ generateDigest: (body) => toArrayBuffer(createHash('sha1').update(body).digest()) }));

  app.notFound((c) => problem(c, 404, `no such endpoint: ${c.req.method} ${c.req.path} (see /openapi.json)`));
  app.onError((err, c) => {
    deps.log?.error(`${c.req.method} ${c.req.path}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return problem(c, 500, 'internal error; it has been logged');
  });

  // --- route modules, joined here ----------------------------------------------------------------------------
  app.route('/', seriesRoutes({ db, clock, catalog, maxRangeDays, methodologyOf, revisions }));
  app.route('/', snapshotRoutes({ db }));
  app.route('/', registryRoutes({ db, clock, methodologies, methodologyText }));
  app.route('/', healthRoutes({ db, clock, policy: health, ttlMs: latestTtlMs }));
  app.route('/', settlementRoutes({ db, clock, known: (code) => catalog.has(code) }));
  app.route(
    '/',
    queryRoutes({
      db,
      clock,
      known: (code) => catalog.has(code),
      maxRangeDays,
      published: (row) => revisions.published(row).fixing,
      signedBody: (row) => revisions.signed(row).body,
      cached: (key, build) => revisions.histories.body(key, build),
    }),
  );

  // --- OpenAPI document and its interactive reference ------------------------------------------------------------
  // Generated from the routes' schemas once, on first request (every route is registered by then), with each
  // field's description filled in from descriptions.ts where a schema gives none.
  let openApiDocument: string | undefined;
  app.get('/openapi.json', (c) => {
    if (openApiDocument === undefined) {
      const doc = app.getOpenAPI31Document({
        openapi: '3.1.0',
        info: {
          title: 'gpuidx publication API',
          version: '1',
          description:
            'Daily GPU rental price fixings, their history, revisions and audit trail, monthly settlement prices, signed with Ed25519. Read-only. The dashboard is at /.',
        },
      });
      describeFields(doc);
      openApiDocument = JSON.stringify(doc);
    }
    c.header('content-type', 'application/json');
    c.header('cache-control', SHORT);
    return c.body(openApiDocument);
  });
  app.route('/', docsRoutes());
  app.route('/', dashboardRoutes());

  return app;
}

export type App = ReturnType<typeof createApp>;
