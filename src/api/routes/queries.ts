// Queries across series: the cross-section of a date (every series, signed), several series' history side by
// side, and the changes feed of new and restated revisions, paged by a cursor. Each takes `as_of` where it reads
// fixings, so a settlement dispute can ask what stood at an instant.
import { createRoute } from '@hono/zod-openapi';
import type { PublishedFixing } from '../../fixer/published.js';
import type { FixingEvidence } from '../../methodology/types.js';
import { crossSection, fixingsByIds, fixingHistoryIds, revisionsSince, type Db, type Fixing } from '../../storage/index.js';
import { historyCsv, wideCsv } from '../csv.js';
import type { CachedBody } from '../cache.js';
import { problem } from '../problem.js';
import { errors, json } from '../responses.js';
import { dateRange, ISO, jsonBody, sendCached, wantsCsv, csvOrJsonHeaders, unknownSeries, routeApp } from '../http.js';
import * as s from '../schemas.js';

export interface QueryDeps {
  db: Db;
  clock: () => number;
  known: (code: string) => boolean;
  maxRangeDays: number;
  /** The published document of a stored revision, and its signed response body (the app's caches). */
  published: (row: Fixing) => PublishedFixing;
  signedBody: (row: Fixing) => string;
  /** A body that follows from what is published, built once per publication (the app's publication cache). */
  cached: (key: string, build: () => Promise<string>) => Promise<CachedBody>;
}

const MAX_SERIES = 50;

export function queryRoutes(deps: QueryDeps) {
  const { db } = deps;
  const app = routeApp();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/fixings/{date}',
      summary: "The cross-section of a date: every series' latest revision, signed (?as_of: as published at that instant); CSV too",
      request: { params: s.crossSectionParams, query: s.crossSectionQuery },
      responses: {
        200: {
          description: 'every series of the date',
          content: { 'application/json': { schema: s.crossSectionSchema }, 'text/csv': { schema: s.z.string() } },
        },
        ...errors,
      },
    }),
    async (c) => {
      const { date } = c.req.valid('param');
      const { as_of, format } = c.req.valid('query');
      const csv = wantsCsv(c, format);
      // Built once per publication. Empty when nothing was published: answered 404 below.
      const entry = await deps.cached(`cross|${date}|${as_of ?? ''}|${csv ? 'csv' : 'json'}`, async () => {
        const rows = await crossSection(db, date, as_of);
        if (rows.length === 0) return '';
        return csv
          ? historyCsv(rows.map(deps.published))
          : `{"date":"${date}","as_of":${as_of === undefined ? 'null' : `"${ISO(as_of)}"`},"fixings":[${rows.map(deps.signedBody).join(',')}]}`;
      });
      if (entry.body === '') return problem(c, 404, `no fixing published for ${date}${as_of === undefined ? '' : ` by ${ISO(as_of)}`}`);
      c.header('cache-control', 'public, max-age=60');
      csvOrJsonHeaders(c, csv, `gpuidx_${date}.csv`);
      return sendCached(c, entry);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/history',
      summary: "Several series' history side by side: one row per date, each series' value (CSV: one column per series)",
      request: { query: s.multiHistoryQuery },
      responses: {
        200: { description: 'the values by date', content: { 'application/json': { schema: s.multiHistorySchema }, 'text/csv': { schema: s.z.string() } } },
        ...errors,
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const series = [...new Set(q.series.split(','))];
      if (series.length > MAX_SERIES) return problem(c, 400, `${series.length} series asked for; at most ${MAX_SERIES} per request`);
      const unknown = series.filter((code) => !deps.known(code));
      if (unknown.length) return problem(c, 404, `unknown series ${unknown.map((u) => `"${u}"`).join(', ')}; GET /v1/series lists them`);
      const range = dateRange(q, deps.clock(), deps.maxRangeDays);
      if ('problem' in range) return problem(c, 400, range.problem);
      const { from, to } = range;
      const csv = wantsCsv(c, q.format);
      // Built once per publication, like a single series' history.
      const entry = await deps.cached(`multi|${series.join(',')}|${from}|${to}|${q.as_of ?? ''}|${csv ? 'csv' : 'json'}`, async () => {
        const byDate = new Map<string, Map<string, number | null>>();
        for (const code of series) {
          for (const row of await fixingsByIds(db, await fixingHistoryIds(db, code, from, to, q.as_of), ['date', 'value'])) {
            let values = byDate.get(row.date);
            if (!values) byDate.set(row.date, (values = new Map()));
            values.set(code, row.value);
          }
        }
        if (csv) return wideCsv(series, byDate);
        const rows = [...byDate.keys()]
          .sort()
          .map((date) => ({ date, values: Object.fromEntries(series.map((code) => [code, byDate.get(date)?.get(code) ?? null])) }));
        return JSON.stringify({ series, from, to, rows });
      });
      c.header('cache-control', 'public, max-age=60');
      csvOrJsonHeaders(c, csv, `gpuidx_${from}_${to}.csv`);
      return sendCached(c, entry);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/series/{code}/venue-shares',
      summary: "Each venue's share of a series' weight per date, before and after the cap, from the evidence published with each fixing",
      request: { params: s.seriesParams, query: s.venueSharesQuery },
      responses: { 200: json(s.venueSharesSchema, 'the shares by date'), ...errors },
    }),
    async (c) => {
      const { code } = c.req.valid('param');
      const q = c.req.valid('query');
      if (!deps.known(code)) return unknownSeries(c, code);
      const range = dateRange(q, deps.clock(), deps.maxRangeDays);
      if ('problem' in range) return problem(c, 400, range.problem);
      const { from, to } = range;
      const entry = await deps.cached(`shares|${code}|${from}|${to}|${q.as_of ?? ''}`, async () => {
        const rows = await fixingsByIds(db, await fixingHistoryIds(db, code, from, to, q.as_of), ['date', 'revision', 'evidence']);
        const dates = rows
          .sort((a, b) => (a.date < b.date ? -1 : 1))
          .map((r) => ({
            date: r.date,
            revision: r.revision,
            shares: ((JSON.parse(r.evidence) as Partial<FixingEvidence>).venue_shares ?? []).map((v) => ({
              venue: v.venue,
              share: v.share,
              capped_share: v.capped_share,
            })),
          }));
        return JSON.stringify({ series: code, from, to, dates });
      });
      c.header('cache-control', 'public, max-age=60');
      c.header('etag', entry.etag);
      return jsonBody<s.z.infer<typeof s.venueSharesSchema>>(c, entry.body);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/revisions',
      summary: 'The changes feed: new and restated revisions published after an instant, in publication order, paged by a cursor',
      request: { query: s.revisionsFeedQuery },
      responses: { 200: json(s.revisionsFeedSchema, 'one page of the feed'), ...errors },
    }),
    async (c) => {
      const { since, after, limit } = c.req.valid('query');
      const rows = await revisionsSince(db, since, after ?? 0, limit);
      const last = rows[rows.length - 1];
      const next = rows.length === limit && last ? `/v1/revisions?since=${encodeURIComponent(ISO(since))}&after=${last.id}&limit=${limit}` : null;
      c.header('cache-control', 'no-cache');
      return c.json(
        {
          revisions: rows.map((r) => ({
            id: r.id,
            series: r.series,
            date: r.date,
            revision: r.revision,
            kind: r.revision === 1 ? ('new' as const) : ('restatement' as const),
            methodology_version: r.methodology_version,
            status: r.status,
            value: r.value,
            restatement_reason: r.restatement_reason,
            published_at: ISO(r.computed_at),
            url: `/v1/series/${r.series}/fixings/${r.date}?revision=${r.revision}`,
          })),
          next,
        },
        200,
      );
    },
  );
  return app;
}
