// The publication API on a real port, over a real SQLite file filled through the real import and fixing path.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningServer } from '../../src/api/server.js';
import { memoryLogger } from '../../src/log/index.js';
import { verifyPayload } from '../../src/signing/index.js';
import { publishMarketFixture, DIALECTS, FIXTURES, tempDb, testSigner, type TempDb } from '../helpers.js';

// One suite, every database gpuidx runs on.
describe.each(DIALECTS)('%s', (dialect) => {
  const NOW = Date.UTC(2026, 10, 21, 0, 40); // 00:40 UTC the day after the last fixed date
  let t: TempDb;
  let api: RunningServer;
  const log = memoryLogger();

  async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${api.url}${path}`, { headers });
  }
  async function getJson<T = any>(path: string): Promise<{ status: number; body: T; res: Response }> {
    const res = await get(path);
    return { status: res.status, body: (await res.json()) as T, res };
  }

  beforeAll(async () => {
    t = await tempDb(dialect);
    const _deps = { db: t.db, clock: () => NOW, log: memoryLogger(), signer: testSigner() };
    await publishMarketFixture(t.db, NOW);
    api = await startApi(
      t.db,
      { host: '127.0.0.1', port: 0, max_range_days: 400, health: { max_fixing_age_hours: 50, max_collection_age_minutes: 60 * 24 * 2 } },
      log,
      () => NOW,
    );
  });

  afterAll(async () => {
    await api.close();
    await t.cleanup();
  });

  describe('fixings', () => {
    it('serves the latest fixing with every published field, signed with the key from /v1/keys', async () => {
      const { status, body } = await getJson('/v1/series/GPUIDX-H100-SXM/fixings/latest');
      expect(status).toBe(200);
      expect(body.fixing).toMatchObject({
        series: 'GPUIDX-H100-SXM',
        date: '2026-11-20',
        revision: 1,
        status: 'normal',
        unit: 'USD per GPU-hour',
        value: 2.244,
        vwap: 2.3044,
        percentiles: { p10: 2.1378, p25: 2.142, p75: 2.448, p90: 2.448 },
        min: 2.1378,
        max: 2.448,
        listings: 5,
        venues: 3,
        observations_included: 15,
        volume: 30,
        excluded: { outlier: 3, wrong_contract: 9 },
        carried_from: null,
        window: { from: '2026-11-20', to: '2026-11-21' },
        methodology_version: '1.0.0',
        parameter_hash: '74fc0518b012fd89809e89c3f250675cdc6ea285b1af443511ddd02786ecc55b',
        computed_at: '2026-11-21T00:40:00.000Z',
        restatement_reason: null,
        parser_versions: ['generic/1'],
        inputs_through_snapshot: 27,
      });
      expect(body.fixing.previous_chain_hash).toMatch(/^[0-9a-f]{64}$/);
      const keys = (await getJson('/v1/keys')).body.keys;
      expect(keys).toHaveLength(1);
      expect(body.signature.key_id).toBe(keys[0].key_id);
      // The signed bytes are the published document as canonical JSON: keys sorted at every level, no whitespace
      // (a second, simpler implementation than the one under test; JSON.stringify writes the shortest numbers).
      const canonical = (v: unknown): string =>
        Array.isArray(v)
          ? `[${v.map(canonical).join(',')}]`
          : v && typeof v === 'object'
            ? `{${Object.keys(v)
                .sort()
                .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
                .join(',')}}`
            : JSON.stringify(v);
      expect(body.signature.payload).toBe(canonical(body.fixing));
      expect(verifyPayload(keys[0].public_key_pem, body.signature.payload, body.signature.value)).toBe(true);
      // One changed digit breaks the signature.
      expect(verifyPayload(keys[0].public_key_pem, body.signature.payload.replace('2.244', '2.245'), body.signature.value)).toBe(false);
    });

    it("serves a date's latest revision and, pinned, an earlier one with its reason listed", async () => {
      const latest = await getJson('/v1/series/GPUIDX-H100-SXM/fixings/2026-11-19');
      expect(latest.body.fixing).toMatchObject({ revision: 2, value: 2.222, listings: 6, venues: 4, min: 1.8, restatement_reason: 'late partner-d file' });
      expect(latest.res.headers.get('cache-control')).toBe('public, max-age=300, no-transform');
      const first = await getJson('/v1/series/GPUIDX-H100-SXM/fixings/2026-11-19?revision=1');
      expect(first.body.fixing).toMatchObject({
        revision: 1,
        value: 2.222,
        listings: 5,
        venues: 3,
        min: 2.1168,
        restatement_reason: null,
        previous_input_digest: null,
      });
      expect(first.res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable, no-transform');
      expect(latest.body.fixing.previous_input_digest).toBe(first.body.fixing.input_digest);

      const revisions = await getJson('/v1/series/GPUIDX-H100-SXM/fixings/2026-11-19/revisions');
      expect(revisions.body.revisions.map((r: any) => [r.revision, r.value, r.restatement_reason, r.computed_at])).toEqual([
        [1, 2.222, null, '2026-11-21T00:40:00.000Z'],
        [2, 2.222, 'late partner-d file', '2026-11-21T00:41:00.000Z'],
      ]);
    });

    it('answers a conditional GET with 304 on the strong ETag', async () => {
      const first = await get('/v1/series/GPUIDX-H100-SXM/fixings/2026-11-18?revision=1', { 'accept-encoding': 'gzip' });
      expect(first.headers.get('content-encoding')).toBeNull();
      const tag = first.headers.get('etag');
      expect(tag).toMatch(/^"[0-9a-f]+"$/);
      const again = await get('/v1/series/GPUIDX-H100-SXM/fixings/2026-11-18?revision=1', { 'if-none-match': tag! });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
    });

    it('gives history as JSON, latest revision per date, and as CSV a spreadsheet opens', async () => {
      const h = await getJson('/v1/series/GPUIDX-H100-SXM/fixings?from=2026-11-18&to=2026-11-20');
      expect(h.body.fixings.map((f: any) => [f.date, f.revision, f.value])).toEqual([
        ['2026-11-18', 1, 2.2],
        ['2026-11-19', 2, 2.222],
        ['2026-11-20', 1, 2.244],
      ]);
      const csv = await get('/v1/series/GPUIDX-H100-SXM/fixings?from=2026-11-18&to=2026-11-20', { accept: 'text/csv' });
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      const lines = (await csv.text()).split('\r\n');
      expect(lines[0]).toBe(
        'date,series,value,status,revision,unit,vwap,p10,p25,p75,p90,min,max,listings,venues,volume_gpu_hours,carried_from,methodology_version,input_digest',
      );
      expect(lines.slice(1, 4).map((l) => l.split(',').slice(0, 16).join(','))).toEqual([
        '2026-11-18,GPUIDX-H100-SXM,2.2,normal,1,USD per GPU-hour,2.2592,2.0959,2.1,2.4,2.4,2.0959,2.4,5,3,30',
        '2026-11-19,GPUIDX-H100-SXM,2.222,normal,2,USD per GPU-hour,2.1803,1.8,2.1168,2.424,2.424,1.8,2.424,6,4,38',
        '2026-11-20,GPUIDX-H100-SXM,2.244,normal,1,USD per GPU-hour,2.3044,2.1378,2.142,2.448,2.448,2.1378,2.448,5,3,30',
      ]);
      expect(lines[4]).toBe('');
      const viaParam = await get('/v1/series/GPUIDX-H100-SXM/fixings?from=2026-11-18&to=2026-11-20&format=csv');
      expect(viaParam.headers.get('content-disposition')).toBe('attachment; filename="GPUIDX-H100-SXM_2026-11-18_2026-11-20.csv"');
    });

    it('lists every series with its first and latest fixing', async () => {
      const { body } = await getJson('/v1/series');
      // The catalog of the methodology in force today (2.0.0): 51 classes, each on-demand and spot, and GPUIDX-COMPUTE.
      expect(body.series).toHaveLength(51 * 2 + 1);
      expect(body.series.find((x: any) => x.code === 'GPUIDX-H100-SXM')).toEqual({
        code: 'GPUIDX-H100-SXM',
        gpu_class: 'H100-SXM',
        contract: 'on_demand',
        unit: 'USD per GPU-hour',
        description: 'NVIDIA H100 SXM5 80GB, on-demand, throughput-normalized volume-weighted median',
        first_date: '2026-11-18',
        latest_date: '2026-11-20',
        latest_value: 2.244,
        latest_status: 'normal',
      });
      expect(body.series.find((x: any) => x.code === 'GPUIDX-B200')).toMatchObject({ latest_value: null, latest_status: 'insufficient' });
    });
  });

  describe('audit trail', () => {
    it('pages through every input with its outcome and weights, with venue shares and outlier fences', async () => {
      const first = await getJson('/v1/series/GPUIDX-H100-SXM/fixings/2026-11-20/audit?limit=10');
      expect(first.body).toMatchObject({ revision: 1, inputs_total: 27, venue_cap: 0.4, parameters: { outlier_k: 3.5, venue_cap: 0.4 } });
      expect(first.body.venue_shares).toEqual([
        { venue: 'partner-a', share: 0.3, capped_share: 0.3 },
        { venue: 'partner-b', share: 0.3, capped_share: 0.3 },
        { venue: 'partner-c', share: 0.4, capped_share: 0.4 },
      ]);
      expect(first.body.inputs[0]).toEqual({
        observation_id: 79,
        snapshot_id: 19,
        // a-1 is the first listing of line 19 of three-days.jsonl (snapshot 19).
        seq: 0,
        venue: 'partner-a',
        fetched_at: '2026-11-20T00:00:00.000Z',
        listing_id: 'a-1',
        gpu_raw: 'H100 SXM',
        gpu_count: 2,
        price_usd_per_hour: 4.08,
        contract: 'on_demand',
        class: 'H100-SXM',
        outcome: 'included',
        p: 2.04,
        f: 314.38 / 300,
        q: 2.04 * (314.38 / 300),
        w: 2,
        w_capped: 2,
      });
      const all = [...first.body.inputs];
      let next: string | null = first.body.next;
      while (next) {
        const page = await getJson(next);
        all.push(...page.body.inputs);
        next = page.body.next;
      }
      expect(all).toHaveLength(27);
      const outcomes: Record<string, number> = {};
      for (const r of all) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
      expect(outcomes).toEqual({ included: 15, outlier: 3, wrong_contract: 9 });
      expect(all.filter((r) => r.outcome === 'outlier').map((r) => r.listing_id)).toEqual(['b-5', 'b-5', 'b-5']);
    });

    it("serves a snapshot's metadata and its exact bytes with their sha256", async () => {
      const line = readFileSync(join(FIXTURES, 'market', 'three-days.jsonl'), 'utf8').split('\n')[0]!;
      const meta = await getJson('/v1/snapshots/1');
      expect(meta.body).toMatchObject({
        id: 1,
        venue: 'partner-a',
        fetched_at: '2026-11-18T00:00:00.000Z',
        source: 'file',
        byte_size: Buffer.byteLength(line),
        parser_version: 'generic/1',
        parse: { outcome: 'ok', rows_total: 4, rows_accepted: 4 },
        raw: '/v1/snapshots/1/raw',
      });
      const raw = await get('/v1/snapshots/1/raw');
      const bytes = Buffer.from(await raw.arrayBuffer());
      expect(bytes.toString('utf8')).toBe(line);
      const sha = createHash('sha256').update(bytes).digest('hex');
      expect(raw.headers.get('x-content-sha256')).toBe(sha);
      expect(meta.body.sha256).toBe(sha);
      // A venue's bytes are never rendered from the API's origin: a download, not sniffed, sandboxed.
      expect(raw.headers.get('content-type')).toBe('application/octet-stream');
      expect(raw.headers.get('content-disposition')).toBe('attachment; filename="snapshot-1.body"');
      expect(raw.headers.get('x-content-type-options')).toBe('nosniff');
      expect(raw.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
      expect(raw.headers.get('x-original-content-type')).toBe('application/json');
    });
  });

  describe('methodology, health, protocol', () => {
    it('serves the methodology with its parameter hash and text', async () => {
      const { body } = await getJson('/v1/methodology/1.0.0');
      expect(body.version).toBe('1.0.0');
      expect(body.parameter_hash).toBe('74fc0518b012fd89809e89c3f250675cdc6ea285b1af443511ddd02786ecc55b');
      expect(body.text).toBe(readFileSync(join(import.meta.dirname, '..', '..', 'methodology', 'METHODOLOGY.md'), 'utf8'));
      expect((await getJson('/v1/methodology')).body.version).toBe('1.0.0');
    });

    it('reports health with 200 while fresh', async () => {
      const { status, body } = await getJson('/v1/health');
      expect(status).toBe(200);
      // Fixed by `gpuidx fix`-style calls in the set-up, not by the scheduled publisher: no publication run yet.
      expect(body).toMatchObject({ status: 'ok', database: 'ok', engine: dialect, problems: [], venues: [], publisher: null });
      expect(body.series).toHaveLength(41);
    });

    it('answers 503 naming what is stale once data and fixings are old', async () => {
      const later = await startApi(
        t.db,
        { host: '127.0.0.1', port: 0, max_range_days: 400, health: { max_fixing_age_hours: 50, max_collection_age_minutes: 60 } },
        memoryLogger(),
        () => NOW + 3 * 86_400_000,
      );
      try {
        const res = await fetch(`${later.url}/v1/health`);
        expect(res.status).toBe(503);
        expect(((await res.json()) as { problems: string[] }).problems).toEqual([
          'newest data arrived 2026-11-20T16:00:00.000Z, more than 60 minutes ago',
          'newest fixing is for 2026-11-20, which ended more than 50 hours ago',
        ]);
      } finally {
        await later.close();
      }
    });

    it('gzips large bodies and opens CORS for GET', async () => {
      const res = await fetch(`${api.url}/openapi.json`, { headers: { 'accept-encoding': 'gzip', origin: 'https://example.org' } });
      expect(res.headers.get('content-encoding')).toBe('gzip');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      // fetch decodes transparently; the document still parses.
      expect(((await res.json()) as { openapi: string }).openapi).toBe('3.1.0');
    });

    it('answers every route with a body that conforms to the schema its OpenAPI document publishes', async () => {
      const doc = (await getJson('/openapi.json')).body;
      // The served document is the contract: its schemas, compiled as JSON Schema 2020-12 (OpenAPI 3.1's dialect).
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats.default(ajv);
      ajv.addSchema({ $id: 'gpuidx', components: doc.components }, 'gpuidx');
      const schemaOf = (template: string, status: number, type: string) => {
        const schema = doc.paths[template]?.get?.responses?.[String(status)]?.content?.[type]?.schema;
        expect(schema, `${template} ${status} ${type} is documented`).toBeDefined();
        return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"gpuidx#/components/'));
      };
      const cases: [string, string, number][] = [
        ['/v1/series', '/v1/series', 200],
        ['/v1/series/GPUIDX-H100-SXM/fixings?from=2026-11-18&to=2026-11-20', '/v1/series/{code}/fixings', 200],
        ['/v1/series/GPUIDX-H100-SXM/fixings/latest', '/v1/series/{code}/fixings/latest', 200],
        ['/v1/series/GPUIDX-H100-SXM/fixings/2026-11-19', '/v1/series/{code}/fixings/{date}', 200],
        ['/v1/series/GPUIDX-H100-SXM/fixings/2026-11-19/revisions', '/v1/series/{code}/fixings/{date}/revisions', 200],
        ['/v1/series/GPUIDX-H100-SXM/fixings/2026-11-20/audit?limit=5', '/v1/series/{code}/fixings/{date}/audit', 200],
        ['/v1/series/GPUIDX-H100-SXM/settlements/2026-11', '/v1/series/{code}/settlements/{month}', 200],
        ['/v1/fixings/2026-11-19', '/v1/fixings/{date}', 200],
        ['/v1/series/GPUIDX-H100-SXM/venue-shares?from=2026-11-18&to=2026-11-20', '/v1/series/{code}/venue-shares', 200],
        ['/v1/fixings/2026-11-19?as_of=2026-01-01T00:00:00Z', '/v1/fixings/{date}', 404],
        ['/v1/history?series=GPUIDX-H100-SXM,GPUIDX-COMPUTE&from=2026-11-18&to=2026-11-20', '/v1/history', 200],
        ['/v1/revisions?since=2026-11-01T00:00:00Z&limit=5', '/v1/revisions', 200],
        ['/v1/series/GPUIDX-H100-SXM/settlements/2026-13', '/v1/series/{code}/settlements/{month}', 400],
        ['/v1/snapshots/1', '/v1/snapshots/{id}', 200],
        ['/v1/methodology', '/v1/methodology', 200],
        ['/v1/methodology/1.0.0', '/v1/methodology/{version}', 200],
        ['/v1/keys', '/v1/keys', 200],
        ['/v1/chain/head', '/v1/chain/head', 200],
        ['/v1/health', '/v1/health', 200],
        ['/v1/series/GPUIDX-NOPE/fixings/latest', '/v1/series/{code}/fixings/latest', 404],
        ['/v1/series/GPUIDX-H100-SXM/fixings/2026-13-40', '/v1/series/{code}/fixings/{date}', 400],
        ['/v1/snapshots/999999', '/v1/snapshots/{id}', 404],
      ];
      for (const [path, template, status] of cases) {
        const res = await get(path);
        expect(res.status, path).toBe(status);
        const type = (res.headers.get('content-type') ?? '').split(';')[0]!;
        const validate = ajv.compile(schemaOf(template, status, type));
        const body: unknown = await res.json();
        expect(validate(body) ? [] : validate.errors, `${path} against ${template} ${status}`).toEqual([]);
      }
    });

    it('describes every field of every response schema in the OpenAPI document', async () => {
      const doc = (await getJson('/openapi.json')).body;
      // Walked here independently of the server's filler: every property of every schema, nested and in arrays.
      const undescribed: string[] = [];
      const walk = (schema: any, path: string) => {
        if (!schema || typeof schema !== 'object' || schema.$ref) return;
        for (const [name, prop] of Object.entries<any>(schema.properties ?? {})) {
          if (!prop.$ref && typeof prop.description !== 'string') undescribed.push(`${path}.${name}`);
          walk(prop, `${path}.${name}`);
        }
        walk(schema.items, `${path}[]`);
        for (const alt of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) walk(alt, path);
      };
      for (const [name, schema] of Object.entries(doc.components.schemas)) walk(schema, name);
      for (const [path, ops] of Object.entries<any>(doc.paths))
        for (const op of Object.values<any>(ops))
          for (const [code, r] of Object.entries<any>(op.responses ?? {}))
            for (const c of Object.values<any>(r.content ?? {})) walk(c.schema, `${path} ${code}`);
      expect(undescribed).toEqual([]);
      // Units and interval ends are stated where they matter.
      expect(doc.components.schemas.Fixing.properties.window.description).toMatch(/from inclusive, to exclusive/);
      expect(doc.components.schemas.Fixing.properties.listings.description).toMatch(/listings/);
      expect(doc.components.schemas.Fixing.properties.observations_included.description).toMatch(/observations/);
    });

    it('publishes a valid OpenAPI 3.1 document covering every route, and a reference page', async () => {
      const doc = (await getJson('/openapi.json')).body;
      const result = await new Validator().validate(doc);
      expect(result.errors ?? []).toEqual([]);
      expect(result.valid).toBe(true);
      expect(Object.keys(doc.paths).sort()).toEqual([
        '/v1/chain/head',
        '/v1/fixings/{date}',
        '/v1/health',
        '/v1/history',
        '/v1/keys',
        '/v1/methodology',
        '/v1/methodology/{version}',
        '/v1/revisions',
        '/v1/series',
        '/v1/series/{code}/fixings',
        '/v1/series/{code}/fixings/latest',
        '/v1/series/{code}/fixings/{date}',
        '/v1/series/{code}/fixings/{date}/audit',
        '/v1/series/{code}/fixings/{date}/revisions',
        '/v1/series/{code}/settlements/{month}',
        '/v1/series/{code}/venue-shares',
        '/v1/snapshots/{id}',
        '/v1/snapshots/{id}/raw',
      ]);
      const page = await get('/docs');
      expect(await page.text()).toContain('/openapi.json');
      expect((await get('/docs/assets/swagger-ui-bundle.js')).status).toBe(200);
    });

    it('logs one line per request without the query string', () => {
      expect(log.lines.some((l) => l.includes('GET /v1/series/GPUIDX-H100-SXM/fixings 200'))).toBe(true);
      expect(log.lines.some((l) => l.includes('from=2026'))).toBe(false);
    });
  });

  describe('bad input gets a 4xx problem+json naming the problem, never a 500', () => {
    it.each([
      ['/v1/series/GPUIDX-H100-SXM/fixings/2026-13-01', 400, 'param.date: not a calendar date'],
      ['/v1/series/GPUIDX-H100-SXM/fixings/2026-02-30', 400, 'param.date: not a calendar date'],
      ['/v1/series/GPUIDX-H100-SXM/fixings/20261120', 400, 'param.date: a UTC date is written YYYY-MM-DD'],
      ['/v1/series/GPUIDX-NOPE/fixings/latest', 404, 'unknown series "GPUIDX-NOPE"; GET /v1/series lists them'],
      ['/v1/series/h100/fixings/latest', 400, 'param.code: a series code looks like GPUIDX-H100-SXM'],
      ['/v1/series/GPUIDX-H100-SXM/fixings?from=2026-11-20&to=2026-11-18', 400, 'from (2026-11-20) is after to (2026-11-18)'],
      [
        '/v1/series/GPUIDX-H100-SXM/fixings?from=2020-01-01&to=2026-11-18',
        400,
        'range of 2514 days is longer than the 400 days one request may ask for; split it',
      ],
      ['/v1/series/GPUIDX-H100-SXM/fixings?format=xml', 400, 'query.format: Invalid option: expected one of "json"|"csv"'],
      ['/v1/series/GPUIDX-H100-SXM/fixings/2026-11-19?revision=0', 400, 'query.revision: revision must be a whole number >= 1'],
      ['/v1/series/GPUIDX-H100-SXM/fixings/2026-11-19?revision=abc', 400, 'query.revision: revision must be a whole number >= 1'],
      ['/v1/series/GPUIDX-H100-SXM/fixings/2026-11-19?revision=3', 404, 'GPUIDX-H100-SXM 2026-11-19 has revisions 1 to 2; there is no revision 3'],
      ['/v1/series/GPUIDX-H100-SXM/fixings/2025-01-01', 404, 'no fixing of GPUIDX-H100-SXM for 2025-01-01'],
      ['/v1/series/GPUIDX-H100-SXM/fixings/latest?token=secret', 400, 'query: unknown parameter(s): token'],
      ['/v1/series/GPUIDX-H100-SXM/fixings/2026-11-20/audit?limit=0', 400, 'query.limit: Too small: expected number to be >=1'],
      ['/v1/snapshots/0', 400, 'param.id: Too small: expected number to be >=1'],
      ['/v1/snapshots/999999', 404, 'no snapshot 999999'],
      ['/v1/methodology/9.9.9', 404, 'no methodology version 9.9.9; known: 1.0.0, 2.0.0'],
      ['/v1/nothing', 404, 'no such endpoint: GET /v1/nothing (see /openapi.json)'],
    ])('%s → %i', async (path, status, detail) => {
      const res = await get(path);
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const body = (await res.json()) as { status: number; detail: string };
      expect(body.status).toBe(status);
      expect(body.detail).toBe(detail);
      expect(JSON.stringify(body)).not.toContain('    at ');
    });
  });
});
