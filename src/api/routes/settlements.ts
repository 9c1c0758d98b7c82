// GET /v1/series/{code}/settlements/{month}: a month's settlement price. Once published (after the cut-off, by
// `gpuidx settle` or the scheduled publisher) the stored, signed record is served as stored; before that it is
// computed on request from the published daily revisions and marked provisional, unsigned.
import { createRoute } from '@hono/zod-openapi';
import { stringify } from 'csv-stringify/sync';
import { computeSettlement, publishedSettlement } from '../../fixer/settle.js';
import { loadSettlementRule } from '../../methodology/settlement.js';
import { latestSettlement, type Db } from '../../storage/index.js';
import { csvOrJsonHeaders, routeApp, unknownSeries, wantsCsv } from '../http.js';
import { errors } from '../responses.js';
import * as s from '../schemas.js';

export interface SettlementDeps {
  db: Db;
  clock: () => number;
  /** The series codes the API knows. */
  known: (code: string) => boolean;
}

export function settlementRoutes({ db, clock, known }: SettlementDeps) {
  const app = routeApp();
  // The rule's parameters are a published file: read once, not per request.
  const rule = loadSettlementRule();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/series/{code}/settlements/{month}',
      summary: "A month's settlement price: the mean of its daily fixings standing at the cut-off; signed once published, provisional before",
      request: { params: s.settlementParams, query: s.settlementQuery },
      responses: {
        200: {
          description: 'the settlement with the daily values used',
          content: { 'application/json': { schema: s.signedSettlementSchema }, 'text/csv': { schema: s.z.string() } },
        },
        ...errors,
      },
    }),
    async (c) => {
      const { code, month } = c.req.valid('param');
      const { format } = c.req.valid('query');
      if (!known(code)) return unknownSeries(c, code);
      const stored = await latestSettlement(db, code, month);
      const body = stored
        ? {
            settlement: publishedSettlement(stored),
            signature: { algorithm: 'Ed25519' as const, key_id: stored.key_id, value: stored.signature, payload: stored.record },
          }
        : { settlement: { ...(await computeSettlement(db, code, month, clock(), rule)), status: 'provisional' as const }, signature: null };
      c.header('cache-control', stored ? 'public, max-age=3600' : 'public, max-age=60');
      if (wantsCsv(c, format)) {
        const rows = body.settlement.days.map((d) => [d.date, d.revision ?? '', d.status ?? '', d.value ?? '', d.counted ? 1 : 0, d.excluded ?? '']);
        csvOrJsonHeaders(c, true, `${code}_${month}_settlement.csv`);
        return c.body(stringify(rows, { header: true, columns: ['date', 'revision', 'status', 'value', 'counted', 'excluded'] }));
      }
      return c.json(body, 200);
    },
  );
  return app;
}
