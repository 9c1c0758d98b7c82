// The methodology in force and each version (parameters, taxonomy, series, text), the signing keys that verify
// signatures, and the signed chain head.
import { createRoute } from '@hono/zod-openapi';
import { seriesCatalog } from '../../methodology/series.js';
import { methodologyInForce, parameterHash, type Methodology } from '../../methodology/params.js';
import { fingerprintOf } from '../../signing/registry.js';
import { latestChainHead, signingKeys, type Db } from '../../storage/index.js';
import { etagOf, IMMUTABLE, ISO, routeApp, SHORT } from '../http.js';
import { problem } from '../problem.js';
import { errors, json } from '../responses.js';
import * as s from '../schemas.js';

export interface RegistryDeps {
  db: Db;
  clock: () => number;
  /** Every methodology version, oldest first. */
  methodologies: readonly Methodology[];
  methodologyText: string;
}

export function registryRoutes({ db, clock, methodologies, methodologyText }: RegistryDeps) {
  const app = routeApp();
  const byVersion = new Map(methodologies.map((m) => [m.version, m]));
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
      return c.json(methodologyBody(inForce), 200);
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
      if (!m) return problem(c, 404, `no methodology version ${version}; known: ${[...byVersion.keys()].join(', ')}`);
      c.header('cache-control', IMMUTABLE);
      return c.json(methodologyBody(m), 200);
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
      if (!head) return problem(c, 404, 'no chain head published yet');
      c.header('cache-control', 'no-cache');
      return c.json(
        {
          head: JSON.parse(head.payload),
          signature: { algorithm: 'Ed25519' as const, key_id: head.key_id, value: head.signature, payload: head.payload },
        },
        200,
      );
    },
  );

  return app;
}
