// The publication API: a read-only Hono app under /v1 serving signed fixings, their history, revisions and audit
// trail, the raw snapshots behind them, the methodology, signing keys and health, settlements, cross-series queries
// and the dashboard at /. Every parameter is parsed by the zod schemas that also generate /openapi.json; every error
// is problem+json. This file holds the middleware, the caches of published revisions and the series routes that
// use them; each other resource is a route module in routes/, joined here with app.route().
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { compress } from 'hono/compress';
import { PatternRouter } from 'hono/router/pattern-router';
import { cors } from 'hono/cors';
import { etag } from 'hono/etag';
import type { Context } from 'hono';
import type { Logger } from '../log/index.js';
import type { FixingEvidence } from '../methodology/fixing.js';
import { seriesCatalog } from '../methodology/series.js';
import { loadMethodologies, METHODOLOGY_DIR, UnknownMethodologyError, type Methodology } from '../methodology/params.js';
import {
  auditCount,
  auditPage,
  fixingAt,
  fixingHistoryIds,
  newestFixingId,
  fixingsByIds,
  fixingRevisions,
  latestFixingOf,
  seriesSummaries,
  type Db,
  type Fixing,
} from '../storage/index.js';
import { publishedFixing, signedPayload, type PublishedFixing } from '../fixer/published.js';
import { publicationCache } from './cache.js';
import { problem, validationProblem } from './problem.js';
import { errors, json } from './responses.js';
import { settlementRoutes } from './routes/settlements.js';
import { queryRoutes } from './routes/queries.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { describeFields } from './descriptions.js';
import { acceptsGzip, etagOf, IMMUTABLE, ISO, RESTATABLE, SHORT, SIGNED, toArrayBuffer } from './http.js';
import { docsRoutes } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { registryRoutes } from './routes/registry.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { auditCsv, historyCsv } from './csv.js';
import * as s from './schemas.js';

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

const DAY_MS = 86_400_000;
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
  // A published revision never changes, so its published form is built once (bounded cache), and so is its signed
  // form with a strong ETag. The signature is the one stored when the revision was published: the API never signs.
  interface Published {
    fixing: PublishedFixing;
    json: string;
    signed?: { body: string; etag: string };
  }
  const publishedCache = new Map<number, Published>();
  const published = (row: Fixing): Published => {
    let hit = publishedCache.get(row.id);
    if (!hit) {
      if (publishedCache.size >= 100_000) publishedCache.clear();
      const fixing = publishedFixing(row);
      hit = { fixing, json: JSON.stringify(fixing) };
      publishedCache.set(row.id, hit);
    }
    return hit;
  };
  const signed = (row: Fixing) => {
    const p = published(row);
    if (!p.signed) {
      const signature =
        row.signature !== null && row.key_id !== null
          ? { algorithm: 'Ed25519' as const, key_id: row.key_id, value: row.signature, payload: signedPayload(p.fixing) }
          : null;
      const shares = (JSON.parse(row.evidence) as Partial<FixingEvidence>).venue_shares ?? [];
      const venueShares = shares.map((v) => ({ venue: v.venue, share: v.share, capped_share: v.capped_share }));
      const body = `{"fixing":${p.json},"signature":${JSON.stringify(signature)},"venue_shares":${JSON.stringify(venueShares)}}`;
      p.signed = { body, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 40)}"` };
    }
    return p.signed;
  };
  // The latest fixing of a series is looked up at most once per `latestTtlMs` (default 1 s): exchanges poll it
  // hard around publication, and a new revision is then visible within that time (its Cache-Control says 60 s).
  const latestTtlMs = deps.latestTtlMs ?? 1000;
  const latestCache = new Map<string, { row: Fixing | undefined; until: number }>();
  const latestOf = async (code: string): Promise<Fixing | undefined> => {
    const now = performance.now();
    const hit = latestCache.get(code);
    if (hit && hit.until > now) return hit.row;
    const row = await latestFixingOf(db, code);
    latestCache.set(code, { row, until: now + latestTtlMs });
    return row;
  };
  // History and CSV bodies, once per publication (see cache.ts); the newest fixing id is checked once per TTL.
  const histories = publicationCache({ generation: () => newestFixingId(db), ttlMs: latestTtlMs });
  const publishedByIds = async (ids: readonly number[]): Promise<Published[]> => {
    const found = ids.map((id) => publishedCache.get(id));
    const missing = ids.filter((_, i) => !found[i]);
    if (missing.length) {
      const rows = new Map((await fixingsByIds(db, missing)).map((r) => [r.id, r]));
      for (const [i, id] of ids.entries()) found[i] ??= published(rows.get(id)!);
    }
    return found as Published[];
  };
  const sendSigned = (c: Context, row: Fixing, cacheControl: string): Response => {
    const { body, etag: tag } = signed(row);
    return c.body(body, 200, { 'content-type': 'application/json', etag: tag, 'cache-control': cacheControl + SIGNED });
  };

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
  // One line per request: method, path (never the query, which could carry a secret), status, duration.
  app.use('*', async (c, next) => {
    const start = performance.now();
    await next();
    c.res.headers.set('access-control-allow-origin', '*');
    deps.log?.info(`${c.req.method} ${c.req.path} ${c.res.status} ${(performance.now() - start).toFixed(1)}ms`);
  });
  // A read-only API: any other method is answered 405 with the methods it allows, before any route runs.
  app.use('*', async (c, next) => {
    if (!READ_METHODS.has(c.req.method)) {
      c.header('allow', 'GET, HEAD, OPTIONS');
      return problem(c, 405, `${c.req.method} is not allowed: this API is read-only (GET, HEAD, OPTIONS)`);
    }
    const accept = c.req.header('accept');
    if (accept && !acceptable(accept)) {
      return problem(
        c,
        406,
        `cannot answer with any type in Accept: ${accept.slice(0, 200)}; this API serves application/json, text/csv (history), application/octet-stream (raw snapshots) and text/html (reference)`,
      );
    }
    await next();
  });
  for (const path of [
    '/openapi.json',
    '/v1/series',
    '/v1/series/:code/fixings/:date/audit',
    '/v1/methodology',
    '/v1/methodology/:version',
    '/v1/health',
    '/v1/fixings/:date',
    '/v1/history',
    '/v1/revisions',
  ]) {
    app.use(path, compress());
  }
  // Hash bodies synchronously: the default WebCrypto digest waits on the thread pool for every response.
  app.use('*', etag({ generateDigest: (body) => toArrayBuffer(createHash('sha1').update(body).digest()) }));

  app.notFound((c) => problem(c, 404, `no such endpoint: ${c.req.method} ${c.req.path} (see /openapi.json)`));
  app.onError((err, c) => {
    deps.log?.error(`${c.req.method} ${c.req.path}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return problem(c, 500, 'internal error; it has been logged');
  });

  const knownSeries = (c: Context, code: string): Response | null =>
    catalog.has(code) ? null : problem(c, 404, `unknown series "${code}"; GET /v1/series lists them`);

  // --- series ------------------------------------------------------------------------------------------------
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/series',
      summary: 'Every series with its first and latest fixing',
      request: { query: s.noQuery },
      responses: { 200: json(s.z.object({ series: s.z.array(s.seriesSchema) }), 'the series'), 400: errors[400] },
    }),
    async (c) => {
      const summaries = await seriesSummaries(db);
      const series = [...catalog.values()].map((x) => {
        const sum = summaries.get(x.code);
        return {
          code: x.code,
          gpu_class: x.classCode,
          contract: x.contract,
          unit: x.unit,
          description: x.description,
          first_date: sum?.first ?? null,
          latest_date: sum?.latest.date ?? null,
          latest_value: sum?.latest.value ?? null,
          latest_status: sum?.latest.status ?? null,
        };
      });
      c.header('cache-control', SHORT);
      return c.json({ series }, 200, etagOf({ series }));
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/series/{code}/fixings',
      summary: 'History: the latest revision of each date in [from, to]; CSV with Accept: text/csv or ?format=csv',
      request: { params: s.seriesParams, query: s.historyQuery },
      responses: {
        200: { description: 'the history', content: { 'application/json': { schema: s.historySchema }, 'text/csv': { schema: s.z.string() } } },
        ...errors,
      },
    }),
    async (c) => {
      const { code } = c.req.valid('param');
      const q = c.req.valid('query');
      const unknown = knownSeries(c, code);
      if (unknown) return unknown as never;
      const to = q.to ?? ISO(clock()).slice(0, 10);
      const from = q.from ?? ISO(Date.parse(`${to}T00:00:00Z`) - 365 * DAY_MS).slice(0, 10);
      if (from > to) return problem(c, 400, `from (${from}) is after to (${to})`) as never;
      const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1;
      if (days > maxRangeDays)
        return problem(c, 400, `range of ${days} days is longer than the ${maxRangeDays} days one request may ask for; split it`) as never;
      const wantsCsv = q.format === 'csv' || (q.format === undefined && (c.req.header('accept') ?? '').includes('text/csv'));
      // A history body follows from what is published: built once per publication, then served from memory.
      const entry = await histories.body(`${code}|${from}|${to}|${wantsCsv ? 'csv' : 'json'}|${q.as_of ?? ''}`, async () => {
        const rows = await publishedByIds(await fixingHistoryIds(db, code, from, to, q.as_of));
        return wantsCsv
          ? historyCsv(rows.map((r) => r.fixing))
          : `{"series":${JSON.stringify(code)},"from":"${from}","to":"${to}","fixings":[${rows.map((r) => r.json).join(',')}]}`;
      });
      c.header('cache-control', SHORT);
      c.header('etag', entry.etag);
      c.header('vary', 'Accept, Accept-Encoding');
      if (wantsCsv) {
        c.header('content-type', 'text/csv; charset=utf-8');
        c.header('content-disposition', `attachment; filename="${code}_${from}_${to}.csv"`);
      } else c.header('content-type', 'application/json');
      if (acceptsGzip(c.req.header('accept-encoding')) && entry.body.length >= 1024) {
        c.header('content-encoding', 'gzip');
        return c.body(histories.gzip(entry), 200) as never;
      }
      return c.body(histories.bytes(entry), 200) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/series/{code}/fixings/latest',
      summary: 'The latest published fixing of a series, signed (?as_of: the latest as published at that instant)',
      request: { params: s.seriesParams, query: s.asOfQuery },
      responses: { 200: json(s.signedFixingSchema, 'the fixing and its signature'), ...errors },
    }),
    async (c) => {
      const { code } = c.req.valid('param');
      const { as_of } = c.req.valid('query');
      const unknown = knownSeries(c, code);
      if (unknown) return unknown as never;
      const row = as_of === undefined ? await latestOf(code) : await latestFixingOf(db, code, as_of);
      if (!row) return problem(c, 404, `series ${code} has no published fixing yet`) as never;
      return sendSigned(c, row, SHORT) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/series/{code}/fixings/{date}',
      summary: 'One fixing, signed: the latest revision of the date, or ?revision=N',
      request: { params: s.fixingParams, query: s.revisionQuery },
      responses: { 200: json(s.signedFixingSchema, 'the fixing and its signature'), ...errors },
    }),
    async (c) => {
      const { code, date } = c.req.valid('param');
      const { revision, as_of } = c.req.valid('query');
      const found = await findFixing(c, code, date, revision, as_of);
      if (found instanceof Response) return found as never;
      // A pinned revision never changes; the date's latest revision can gain a correction.
      return sendSigned(c, found, revision !== undefined ? IMMUTABLE : RESTATABLE) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/series/{code}/fixings/{date}/revisions',
      summary: 'Every revision of a date with its restatement reason',
      request: { params: s.fixingParams, query: s.noQuery },
      responses: { 200: json(s.revisionsSchema, 'the revisions, oldest first'), ...errors },
    }),
    async (c) => {
      const { code, date } = c.req.valid('param');
      const unknown = knownSeries(c, code);
      if (unknown) return unknown as never;
      const rows = await fixingRevisions(db, code, date);
      if (rows.length === 0) return problem(c, 404, `no fixing of ${code} for ${date}`) as never;
      c.header('cache-control', RESTATABLE);
      return c.json(
        {
          series: code,
          date,
          revisions: rows.map((r) => ({
            revision: r.revision,
            value: r.value,
            status: r.status,
            input_digest: r.input_digest,
            previous_input_digest: r.previous_input_digest,
            restatement_reason: r.restatement_reason,
            computed_at: ISO(r.computed_at),
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/series/{code}/fixings/{date}/audit',
      summary: 'The evidence behind a fixing: every input with its outcome and weights, venue shares, outlier fences, parameters; paginated',
      request: { params: s.fixingParams, query: s.auditQuery },
      responses: { 200: json(s.auditSchema, 'one page of the audit'), ...errors },
    }),
    async (c) => {
      const { code, date } = c.req.valid('param');
      const { revision, after, as_of, venue, outcome, format } = c.req.valid('query');
      const csv = format === 'csv' || (format === undefined && (c.req.header('accept') ?? '').includes('text/csv'));
      const limit = c.req.valid('query').limit ?? (csv ? 100_000 : 1000);
      if (!csv && limit > 1000) return problem(c, 400, `limit ${limit} is above 1000, the most a JSON page holds (CSV pages hold up to 100000)`) as never;
      const found = await findFixing(c, code, date, revision, as_of);
      if (found instanceof Response) return found as never;
      const rows = await auditPage(db, found.id, after ?? 0, limit, { venue, outcome });
      const evidence = JSON.parse(found.evidence) as FixingEvidence;
      const methodology = methodologyOf(found.methodology_version);
      const last = rows[rows.length - 1];
      const filters = `${venue === undefined ? '' : `&venue=${encodeURIComponent(venue)}`}${outcome === undefined ? '' : `&outcome=${outcome}`}${csv ? '&format=csv' : ''}`;
      const next = rows.length === limit && last ? `${c.req.path}?revision=${found.revision}&after=${last.observation_id}&limit=${limit}${filters}` : null;
      if (csv) {
        c.header('cache-control', revision !== undefined ? IMMUTABLE : RESTATABLE);
        c.header('content-type', 'text/csv; charset=utf-8');
        c.header('content-disposition', `attachment; filename="${code}_${date}_r${found.revision}_audit.csv"`);
        if (next) c.header('link', `<${next}>; rel="next"`);
        return c.body(auditCsv(rows)) as never;
      }
      // Pinned to a revision the page never changes.
      c.header('cache-control', revision !== undefined ? IMMUTABLE : RESTATABLE);
      return c.json(
        {
          series: code,
          date,
          revision: found.revision,
          input_digest: found.input_digest,
          methodology_version: found.methodology_version,
          parameters: methodology.parameters as Record<string, unknown>,
          venue_cap: evidence.venue_cap,
          venue_shares: evidence.venue_shares,
          outlier: evidence.outlier,
          inputs_total: await auditCount(db, found.id),
          inputs: rows.map((r) => ({
            observation_id: r.observation_id,
            snapshot_id: r.snapshot_id,
            venue: r.venue,
            fetched_at: ISO(r.fetched_at),
            listing_id: r.listing_id,
            gpu_raw: r.gpu_raw,
            gpu_count: r.gpu_count,
            price_usd_per_hour: r.price_usd_per_hour,
            contract: r.contract,
            class: r.class,
            outcome: r.reason ?? 'included',
            p: r.p,
            f: r.f,
            q: r.q,
            w: r.w,
            w_capped: r.w_capped,
          })),
          next,
        },
        200,
      );
    },
  );

  async function findFixing(c: Context, code: string, date: string, revision: number | undefined, asOf?: number): Promise<Fixing | Response> {
    const unknown = knownSeries(c, code);
    if (unknown) return unknown;
    const row = await fixingAt(db, code, date, revision, asOf);
    if (row) return row;
    if (asOf !== undefined) return problem(c, 404, `no fixing of ${code} for ${date} had been published by ${ISO(asOf)}`);
    if (revision !== undefined) {
      const all = await fixingRevisions(db, code, date);
      if (all.length) return problem(c, 404, `${code} ${date} has revisions 1 to ${all.length}; there is no revision ${revision}`);
    }
    return problem(c, 404, `no fixing of ${code} for ${date}`);
  }

  // --- route modules: snapshots, methodology and keys, health, settlements, cross-series queries, the dashboard ---
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
      published: (row) => published(row).fixing,
      signedBody: (row) => signed(row).body,
      cached: (key, build) => histories.body(key, build),
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
      describeFields(doc as never);
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
