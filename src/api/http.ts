import { createRequire } from 'node:module';
import { join } from 'node:path';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, TypedResponse } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { JSONParsed } from 'hono/utils/types';
import { type CachedBody, cachedBytes, cachedGzip, gzipEtag, strongEtag } from './cache.js';
import { problem, validationProblem } from './problem.js';

export const DAY_MS = 86_400_000;
export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const SHORT = 'public, max-age=60';
export const RESTATABLE = 'public, max-age=300';
// A signed fixing is served byte for byte: no gzip here or in a proxy, so its ETag stays strong.
export const SIGNED = ', no-transform';

export const ISO = (ms: number) => new Date(ms).toISOString();
/** An instant from the database that may be out of Date's range (a hostile import before the bounds existed). */
export const safeIso = (ms: number) => (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ISO(ms) : String(ms));

/**
 * The strong ETag of a JSON body as `c.json` writes it (the same JSON.stringify). Set by the route, it spares Hono's
 * etag middleware cloning the response to hash it, which turns @hono/node-server's direct write of a string body
 * into a web stream.
 */
export function etagOf(value: unknown): { etag: string } {
  return { etag: strongEtag(JSON.stringify(value)) };
}

/** Whether an Accept-Encoding header accepts gzip (named with a weight above 0, or by `*`). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    if (name !== 'gzip' && name !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

export function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export function dirnameOfPackage(name: string): string {
  const require = createRequire(import.meta.url);
  return join(require.resolve(`${name}/package.json`), '..');
}

/** A route module's app: parameter validation failures become problem+json, as everywhere in the API. */
export function routeApp() {
  return new OpenAPIHono({
    defaultHook: (result, c) => (result.success ? undefined : validationProblem(c, result.target, result.error)),
  });
}

/**
 * A JSON body serialized ahead of time (a cached signed fixing, a history built once per publication), served as
 * it is and typed as the value it was serialized from. Hono types a response by the value given to c.json, which
 * would serialize again; this is the one place where the API asserts a body's type instead, and every body passed
 * here is JSON.stringify of a value of type T (the OpenAPI response tests check them against the schemas).
 */
export function jsonBody<T, S extends ContentfulStatusCode = 200>(
  c: Context,
  body: string | Uint8Array<ArrayBuffer>,
  status?: S,
  headers: Record<string, string> = {},
): TypedResponse<JSONParsed<T>, S, 'json'> {
  return c.body(body, status ?? 200, { 'content-type': 'application/json', ...headers }) as unknown as TypedResponse<JSONParsed<T>, S, 'json'>;
}

/**
 * The [from, to] dates (inclusive) of a history request: `to` defaults to today (UTC), `from` to 365 days before
 * it; a reversed range, or one longer than `maxDays`, is answered with the reason instead.
 */
export function dateRange(
  q: { from?: string | undefined; to?: string | undefined },
  now: number,
  maxDays: number,
): { from: string; to: string } | { problem: string } {
  const to = q.to ?? ISO(now).slice(0, 10);
  const from = q.from ?? ISO(Date.parse(`${to}T00:00:00Z`) - 365 * DAY_MS).slice(0, 10);
  if (from > to) return { problem: `from (${from}) is after to (${to})` };
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1;
  if (days > maxDays) return { problem: `range of ${days} days is longer than the ${maxDays} days one request may ask for; split it` };
  return { from, to };
}

/** Whether a request asks for CSV: `?format=csv`, or (with no `format`) an Accept header naming text/csv. */
export function wantsCsv(c: Context, format: string | undefined): boolean {
  return format === 'csv' || (format === undefined && (c.req.header('accept') ?? '').includes('text/csv'));
}

/** The media type of a body served as CSV (a download named `filename`) or as JSON. */
export function csvOrJsonHeaders(c: Context, csv: boolean, filename: string): void {
  if (csv) {
    c.header('content-type', 'text/csv; charset=utf-8');
    c.header('content-disposition', `attachment; filename="${filename}"`);
  } else c.header('content-type', 'application/json');
}

/**
 * A body built once per publication (history, cross-section), served as bytes made once: gzip-compressed when the
 * client accepts it and the body is over 1 KB, each representation with its own strong ETag. Vary is set here, so
 * the compress middleware has no header to add after the response is made (which would turn it into a stream).
 */
export function sendCached<S extends ContentfulStatusCode = 200>(c: Context, entry: CachedBody, status?: S): Response {
  c.header('vary', 'Accept, Accept-Encoding');
  if (entry.body.length >= 1024 && acceptsGzip(c.req.header('accept-encoding'))) {
    c.header('content-encoding', 'gzip');
    c.header('etag', gzipEtag(entry.etag));
    return c.body(cachedGzip(entry), status ?? 200);
  }
  c.header('etag', entry.etag);
  return c.body(cachedBytes(entry), status ?? 200);
}

/** sendCached for a JSON body of type T (see jsonBody: the body is JSON.stringify of a T). */
export function sendCachedJson<T, S extends ContentfulStatusCode = 200>(c: Context, entry: CachedBody, status?: S): TypedResponse<JSONParsed<T>, S, 'json'> {
  return sendCached(c, entry, status) as unknown as TypedResponse<JSONParsed<T>, S, 'json'>;
}

/** The 404 for a series code the catalogue does not hold. */
export function unknownSeries(c: Context, code: string) {
  return problem(c, 404, `unknown series "${code}"; GET /v1/series lists them`);
}
