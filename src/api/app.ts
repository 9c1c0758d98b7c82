// The publication API: a read-only Hono app under /v1 serving signed fixings, their history, revisions and audit
// trail, the raw snapshots behind them, the methodology, signing keys and health. Every parameter is parsed by the
// zod schemas that also generate /openapi.json; every error is problem+json.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
import { loadMethodologies, METHODOLOGY_DIR, methodologyInForce, parameterHash, UnknownMethodologyError, type Methodology } from '../methodology/params.js';
import {
  auditCount,
  auditPage,
  fixingAt,
  fixingHistoryIds,
  newestFixingId,
  fixingsByIds,
  fixingRevisions,
  getSnapshot,
  snapshotBody,
  degradedVenues,
  lastSuccessfulRuns,
  newestSnapshotAt,
  latestFixingOf,
  ping,
  seriesSummaries,
  signingKeys,
  latestChainHead,
  pendingSummary,
  type Db,
  type Fixing,
  dialectOf,
  latestPublicationRun,
} from '../storage/index.js';
import { fingerprintOf } from '../signing/registry.js';
import { publishedFixing, signedPayload, type PublishedFixing } from '../fixer/published.js';
import { publicationCache, reusedFor, strongEtag } from './cache.js';
import { problem, validationProblem } from './problem.js';
import { errors, json } from './responses.js';
import { settlementRoutes } from './routes/settlements.js';
import { queryRoutes } from './routes/queries.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { describeFields } from './descriptions.js';
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
const IMMUTABLE = 'public, max-age=31536000, immutable';
const SHORT = 'public, max-age=60';
const RESTATABLE = 'public, max-age=300';
// A signed fixing is served byte for byte: no gzip here or in a proxy, so its ETag stays strong.
const SIGNED = ', no-transform';

const ISO = (ms: number) => new Date(ms).toISOString();
/** An instant from the database that may be out of Date's range (a hostile import before the bounds existed). */
const safeIso = (ms: number) => (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ISO(ms) : String(ms));

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

  // --- snapshots -----------------------------------------------------------------------------------------------
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/snapshots/{id}',
      summary: "A raw snapshot's metadata",
      request: { params: s.snapshotParams, query: s.noQuery },
      responses: { 200: json(s.snapshotSchema, 'the metadata'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const m = await getSnapshot(db, id);
      if (!m) return problem(c, 404, `no snapshot ${id}`) as never;
      c.header('cache-control', m.parse_outcome === 'pending' ? 'no-store' : IMMUTABLE);
      return c.json(
        {
          id: m.id,
          venue: m.venue,
          fetched_at: safeIso(m.fetched_at),
          received_at: m.received_at === null ? null : safeIso(m.received_at),
          source: m.source,
          request: { method: m.request_method, url: m.request_url, body: m.request_body },
          http_status: m.http_status,
          content_type: m.content_type,
          sha256: m.sha256,
          byte_size: m.byte_size,
          truncated: m.truncated === 1,
          redacted: m.redacted === 1,
          parser_version: m.parser_version,
          parser_options: JSON.parse(m.parser_options) as Record<string, unknown>,
          parse: {
            outcome: m.parse_outcome,
            error: m.parse_error,
            rows_total: m.rows_total,
            rows_accepted: m.rows_accepted,
            rows_rejected: m.rows_rejected,
            rows_ignored: m.rows_ignored,
            ignored_reasons: m.ignored_reasons === null ? null : (JSON.parse(m.ignored_reasons) as Record<string, number>),
          },
          raw: `/v1/snapshots/${m.id}/raw`,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/snapshots/{id}/raw',
      summary: 'The exact bytes stored for a snapshot, with their original content type and sha256',
      request: { params: s.snapshotParams, query: s.noQuery },
      responses: {
        200: { description: 'the stored bytes', content: { 'application/octet-stream': { schema: s.z.string().openapi({ format: 'binary' }) } } },
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const snap = await getSnapshot(db, id);
      const body = snap && (await snapshotBody(db, id));
      if (!snap || !body) return problem(c, 404, `no snapshot ${id}`) as never;
      // The bytes are a venue's, not ours: always a download, never rendered or sniffed from the API's origin.
      return new Response(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), {
        status: 200,
        headers: {
          'content-type': 'application/octet-stream',
          'content-disposition': `attachment; filename="snapshot-${snap.id}.body"`,
          'x-content-type-options': 'nosniff',
          'content-security-policy': "default-src 'none'; sandbox",
          'x-original-content-type': (snap.content_type ?? 'application/octet-stream').replace(/[^\x20-\x7e]/g, ''),
          'x-content-sha256': snap.sha256,
          'repr-digest': `sha-256=:${Buffer.from(snap.sha256, 'hex').toString('base64')}:`,
          'cache-control': IMMUTABLE,
        },
      }) as never;
    },
  );

  // --- methodology, keys, health ------------------------------------------------------------------------------
  const methodologyBody = (m: Methodology) => ({
    version: m.version,
    effective_from: m.effective_from,
    parameter_hash: parameterHash(m),
    document: m,
    series: seriesCatalog(m).map((x) => x.code),
    text: methodologyText,
  });
  const methodologySchema = s.z
    .object({
      version: s.z.string(),
      effective_from: s.z.string(),
      parameter_hash: s.z.string(),
      document: s.z.record(s.z.string(), s.z.unknown()),
      series: s.z.array(s.z.string()).openapi({ description: 'the codes of the series this version publishes each date' }),
      text: s.z.string(),
    })
    .openapi('Methodology');

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/methodology',
      summary: 'The methodology in force today: parameters, taxonomy and text',
      request: { query: s.noQuery },
      responses: { 200: json(methodologySchema, 'the methodology'), 400: errors[400] },
    }),
    (c) => {
      c.header('cache-control', SHORT);
      // The version in force today (by the injected clock), not merely the newest file: a version announced for a
      // later effective date is served at /v1/methodology/{version} until then.
      const today = new Date(clock()).toISOString().slice(0, 10);
      const inForce = methodologyInForce(methodologies, today) ?? methodologies[0]!;
      return c.json(methodologyBody(inForce) as never, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/methodology/{version}',
      summary: 'One methodology version',
      request: { params: s.methodologyParams, query: s.noQuery },
      responses: { 200: json(methodologySchema, 'the methodology'), ...errors },
    }),
    (c) => {
      const { version } = c.req.valid('param');
      const m = byVersion.get(version);
      if (!m) return problem(c, 404, `no methodology version ${version}; known: ${[...byVersion.keys()].join(', ')}`) as never;
      c.header('cache-control', IMMUTABLE);
      return c.json(methodologyBody(m) as never, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/keys',
      summary: 'Public keys that verify fixing signatures',
      request: { query: s.noQuery },
      responses: { 200: json(s.keysSchema, 'the keys'), 400: errors[400] },
    }),
    async (c) => {
      c.header('cache-control', SHORT);
      const keys = (await signingKeys(db)).map((k) => ({
        key_id: k.key_id,
        algorithm: 'Ed25519' as const,
        public_key_pem: k.public_key_pem,
        fingerprint: fingerprintOf(k.public_key_pem),
        valid_from: ISO(k.valid_from),
        valid_to: k.valid_to === null ? null : ISO(k.valid_to),
      }));
      return c.json({ keys }, 200, etagOf({ keys }));
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/chain/head',
      summary: 'The signed chain head: the hash of the newest published revision, signed after each publication run',
      request: { query: s.noQuery },
      responses: { 200: json(s.chainHeadSchema, 'the newest chain head'), 404: errors[404] },
    }),
    async (c) => {
      const head = await latestChainHead(db);
      if (!head) return problem(c, 404, 'no chain head published yet') as never;
      c.header('cache-control', 'no-cache');
      return c.json(
        {
          head: JSON.parse(head.payload),
          signature: { algorithm: 'Ed25519' as const, key_id: head.key_id, value: head.signature, payload: head.payload },
        } as never,
        200,
      );
    },
  );

  // Load balancers and monitors poll health hard: its queries run at most once per TTL (default 1 s), and
  // `checked_at` says when they last ran.
  const checkHealth = async () => {
    await ping(db);
    const now = clock();
    const venues = await lastSuccessfulRuns(db);
    const summaries = await seriesSummaries(db);
    const series = [...summaries].map(([code, x]) => ({ series: code, latest_date: x.latest.date })).sort((a, b) => (a.series < b.series ? -1 : 1));
    const problems: string[] = [];
    // Fresh data may come from a collector run or from an imported partner file.
    // A claimed instant beyond our clock (a bad import from before the bounds existed) is not fresh data.
    const newestData = Math.max(...venues.map((v) => v.finished_at).filter((t) => t <= now), (await newestSnapshotAt(db, now)) ?? -Infinity);
    const pending = await pendingSummary(db);
    // A venue whose latest run collapsed in yield is down in all but name: say so, with the run's own words.
    for (const d of await degradedVenues(db)) problems.push(`${d.venue}: latest run (${ISO(d.finished_at)}) is degraded: ${d.warning}`);
    if (pending.count > 0) {
      problems.push(
        `${pending.count} snapshot(s) are stuck pending from snapshot ${pending.oldest}: fixings cannot read data newer than snapshot ${(pending.oldest ?? 1) - 1} until a writer (gpuidx collect, import or fix) recovers them`,
      );
    }
    const lastRun = await latestPublicationRun(db);
    if (lastRun?.outcome === 'failed')
      problems.push(`the latest publication run (${lastRun.date}, by ${lastRun.publisher}) failed: ${lastRun.error ?? 'no reason recorded'}`);
    if (newestData === -Infinity) problems.push('no data collected or imported yet');
    else if (now - newestData > health.max_collection_age_minutes * 60_000)
      problems.push(`newest data arrived ${ISO(newestData)}, more than ${health.max_collection_age_minutes} minutes ago`);
    // biome-ignore lint/complexity/useMathMinMax: ISO date strings, compared as text; Math.max would make them NaN
    const newestDate = series.reduce((m, x) => (x.latest_date > m ? x.latest_date : m), '');
    if (!newestDate) problems.push('no fixing published yet');
    else if (now - (Date.parse(`${newestDate}T00:00:00Z`) + DAY_MS) > health.max_fixing_age_hours * 3_600_000)
      problems.push(`newest fixing is for ${newestDate}, which ended more than ${health.max_fixing_age_hours} hours ago`);
    const body = {
      status: problems.length ? ('stale' as const) : ('ok' as const),
      checked_at: ISO(now),
      database: 'ok' as const,
      engine: dialectOf(db),
      problems,
      publisher: lastRun
        ? {
            date: lastRun.date,
            publisher: lastRun.publisher,
            outcome: lastRun.outcome,
            started_at: ISO(lastRun.started_at),
            finished_at: lastRun.finished_at === null ? null : ISO(lastRun.finished_at),
            published: lastRun.published,
            unchanged: lastRun.unchanged,
            refused: lastRun.refused,
          }
        : null,
      venues: venues.map((v) => ({ venue: v.venue, last_success: ISO(v.finished_at) })),
      series,
    };
    return body;
  };
  // The check and its serialized answer with its ETag, kept together for the TTL (a failed check is not kept).
  const healthOf = reusedFor(latestTtlMs, async () => {
    const body = await checkHealth();
    const text = JSON.stringify(body);
    return { body, text, etag: strongEtag(text) };
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/health',
      summary:
        "Database reachable (and which engine), the scheduled publisher's last run, last successful run per venue, latest fixing date per series; 503 when data or fixings are stale or the last publication run failed",
      request: { query: s.noQuery },
      responses: { 200: json(s.healthSchema, 'fresh'), 503: json(s.healthSchema, 'stale') },
    }),
    async (c) => {
      const answer = await healthOf();
      c.header('cache-control', 'no-store');
      c.header('content-type', 'application/json');
      c.header('etag', answer.etag);
      return c.body(answer.text, answer.body.problems.length ? 503 : 200) as never;
    },
  );

  // --- settlements and cross-series queries (route modules of their own; the others follow as app.ts is split) ---
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
  const swaggerDir = dirnameOfPackage('swagger-ui-dist');
  const assets: Record<string, string> = { 'swagger-ui.css': 'text/css; charset=utf-8', 'swagger-ui-bundle.js': 'text/javascript; charset=utf-8' };
  app.get('/docs', (c) => {
    c.header('cache-control', SHORT);
    return c.html(DOCS_PAGE);
  });
  app.get('/docs/assets/:file', (c) => {
    const file = c.req.param('file');
    const type = assets[file];
    if (!type) return problem(c, 404, `no such asset: ${file}`);
    c.header('cache-control', 'public, max-age=86400');
    c.header('content-type', type);
    return c.body(readFileSync(join(swaggerDir, file)));
  });
  app.route('/', dashboardRoutes());

  return app;
}

export type App = ReturnType<typeof createApp>;

/**
 * The strong ETag of a JSON body as `c.json` writes it (the same JSON.stringify). Set by the route, it spares Hono's
 * etag middleware cloning the response to hash it, which turns @hono/node-server's direct write of a string body
 * into a web stream.
 */
function etagOf(value: unknown): { etag: string } {
  return { etag: strongEtag(JSON.stringify(value)) };
}

/** Whether an Accept-Encoding header accepts gzip (named with a weight above 0, or by `*`). */
function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    if (name !== 'gzip' && name !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function dirnameOfPackage(name: string): string {
  const require = createRequire(import.meta.url);
  return join(require.resolve(`${name}/package.json`), '..');
}

// The reference page is served with its assets from our own install: it works offline.
const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gpuidx API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });</script></body></html>`;
