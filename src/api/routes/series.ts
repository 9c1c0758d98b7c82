// The series and their fixings: the catalogue with each series' latest value, history (JSON and CSV), the latest
// fixing, one date's fixing and its revisions, and the audit behind it (JSON and CSV, filtered, paged).
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { FixingEvidence } from '../../methodology/fixing.js';
import type { Methodology } from '../../methodology/params.js';
import type { SeriesSpec } from '../../methodology/series.js';
import {
  AuditBlockError,
  auditCount,
  auditPage,
  fixingAt,
  fixingHistoryIds,
  fixingRevisions,
  latestFixingOf,
  seriesSummaries,
  type Db,
} from '../../storage/index.js';
import { auditCsv, historyCsv } from '../csv.js';
import { dateRange, etagOf, IMMUTABLE, ISO, RESTATABLE, routeApp, SHORT, sendCached, wantsCsv, csvOrJsonHeaders, unknownSeries } from '../http.js';
import { problem } from '../problem.js';
import type { PublishedRevisions } from '../published.js';
import { errors, json, problemResponse } from '../responses.js';
import * as s from '../schemas.js';

export interface SeriesDeps {
  db: Db;
  clock: () => number;
  catalog: ReadonlyMap<string, SeriesSpec>;
  maxRangeDays: number;
  methodologyOf: (version: string) => Methodology;
  revisions: PublishedRevisions;
}

export function seriesRoutes({ db, clock, catalog, maxRangeDays, methodologyOf, revisions }: SeriesDeps) {
  const app = routeApp();
  const { latestOf, histories, publishedByIds, sendSigned } = revisions;
  const knownSeries = (c: Context, code: string) => (catalog.has(code) ? null : unknownSeries(c, code));

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
      if (unknown) return unknown;
      const range = dateRange(q, clock(), maxRangeDays);
      if ('problem' in range) return problem(c, 400, range.problem);
      const { from, to } = range;
      const csv = wantsCsv(c, q.format);
      // A history body follows from what is published: built once per publication, then served from memory.
      const entry = await histories.body(`${code}|${from}|${to}|${csv ? 'csv' : 'json'}|${q.as_of ?? ''}`, async () => {
        const rows = await publishedByIds(await fixingHistoryIds(db, code, from, to, q.as_of));
        return csv
          ? historyCsv(rows.map((r) => r.fixing))
          : `{"series":${JSON.stringify(code)},"from":"${from}","to":"${to}","fixings":[${rows.map((r) => r.json).join(',')}]}`;
      });
      c.header('cache-control', SHORT);
      csvOrJsonHeaders(c, csv, `${code}_${from}_${to}.csv`);
      return sendCached(c, entry);
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
      if (unknown) return unknown;
      const row = as_of === undefined ? await latestOf(code) : await latestFixingOf(db, code, as_of);
      if (!row) return problem(c, 404, `series ${code} has no published fixing yet`);
      return sendSigned(c, row, SHORT);
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
      if (found instanceof Response) return found;
      // A pinned revision never changes; the date's latest revision can gain a correction.
      return sendSigned(c, found, revision !== undefined ? IMMUTABLE : RESTATABLE);
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
      if (unknown) return unknown;
      const rows = await fixingRevisions(db, code, date);
      if (rows.length === 0) return problem(c, 404, `no fixing of ${code} for ${date}`);
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
      responses: {
        200: { description: 'one page of the audit', content: { 'application/json': { schema: s.auditSchema }, 'text/csv': { schema: s.z.string() } } },
        ...errors,
        500: problemResponse('the stored audit cannot be read (damaged; gpuidx verify names it)'),
      },
    }),
    async (c) => {
      const { code, date } = c.req.valid('param');
      const { revision, after, as_of, venue, outcome, format } = c.req.valid('query');
      const csv = wantsCsv(c, format);
      const limit = c.req.valid('query').limit ?? (csv ? 100_000 : 1000);
      if (!csv && limit > 1000) return problem(c, 400, `limit ${limit} is above 1000, the most a JSON page holds (CSV pages hold up to 100000)`);
      const found = await findFixing(c, code, date, revision, as_of);
      if (found instanceof Response) return found;
      let rows: Awaited<ReturnType<typeof auditPage>>;
      try {
        rows = await auditPage(db, found.id, after ?? 0, limit, { venue, outcome });
      } catch (err) {
        // A damaged audit is the operator's to repair (verify names it); the client gets what is wrong, in one line.
        if (err instanceof AuditBlockError) return problem(c, 500, err.message);
        throw err;
      }
      const evidence = JSON.parse(found.evidence) as FixingEvidence;
      const methodology = methodologyOf(found.methodology_version);
      const last = rows[rows.length - 1];
      const filters = `${venue === undefined ? '' : `&venue=${encodeURIComponent(venue)}`}${outcome === undefined ? '' : `&outcome=${outcome}`}${csv ? '&format=csv' : ''}`;
      const next = rows.length === limit && last ? `${c.req.path}?revision=${found.revision}&after=${last.observation_id}&limit=${limit}${filters}` : null;
      if (csv) {
        c.header('cache-control', revision !== undefined ? IMMUTABLE : RESTATABLE);
        csvOrJsonHeaders(c, true, `${code}_${date}_r${found.revision}_audit.csv`);
        if (next) c.header('link', `<${next}>; rel="next"`);
        return c.body(auditCsv(rows));
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
          audit_sha256: found.audit_sha256,
          inputs: rows.map((r) => ({
            observation_id: r.observation_id,
            snapshot_id: r.snapshot_id,
            seq: r.seq,
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

  async function findFixing(c: Context, code: string, date: string, revision: number | undefined, asOf?: number) {
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

  return app;
}
