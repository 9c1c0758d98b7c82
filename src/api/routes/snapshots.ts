// GET /v1/snapshots/{id} and /raw: a raw snapshot's metadata, and its exact stored bytes as a download.
import { createRoute } from '@hono/zod-openapi';
import { getSnapshot, snapshotBody, type Db } from '../../storage/index.js';
import { IMMUTABLE, routeApp, safeIso } from '../http.js';
import { problem } from '../problem.js';
import { errors, json } from '../responses.js';
import * as s from '../schemas.js';

export function snapshotRoutes({ db }: { db: Db }) {
  const app = routeApp();
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
      if (!m) return problem(c, 404, `no snapshot ${id}`);
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
      if (!snap || !body) return problem(c, 404, `no snapshot ${id}`);
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
      });
    },
  );

  return app;
}
