// One HTTP attempt with timeouts and a body-size cap, and the retry rule (backoff with jitter, Retry-After) between attempts.
import type { Dispatcher } from 'undici';
import { z } from 'zod';

export interface HttpRequestSpec {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export const httpPolicySchema = z
  .object({
    connect_timeout_ms: z.number().int().positive().default(10_000),
    headers_timeout_ms: z.number().int().positive().default(30_000),
    body_timeout_ms: z.number().int().positive().default(30_000),
    /** Whole attempt, from sending the request to the last body byte. */
    total_timeout_ms: z.number().int().positive().default(60_000),
    max_attempts: z.number().int().min(1).max(10).default(4),
    backoff_base_ms: z.number().int().min(0).default(1_000),
    backoff_max_ms: z.number().int().min(0).default(60_000),
    /** Longest Retry-After we honour; a venue asking for more is treated as down for this run. */
    retry_after_max_ms: z.number().int().min(0).default(300_000),
    // A full Vast.ai search of 15,000 offers is ~41 MB; the cap only keeps a runaway body out of memory.
    max_body_bytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024),
  })
  .strict();
export type HttpPolicy = z.infer<typeof httpPolicySchema>;

/** RequestInit with undici's own dispatcher type (Node's bundled fetch types name an older undici). */
export type FetchInit = Omit<RequestInit, 'dispatcher'> & { dispatcher?: Dispatcher };
export type FetchFn = (input: string, init: FetchInit) => Promise<Response>;

/** The global fetch, looked up at call time so that msw (in tests) can intercept it after import. */
export const globalFetch: FetchFn = (input, init) => globalThis.fetch(input, init as RequestInit);

export type HttpResult =
  | {
      kind: 'response';
      status: number;
      contentType: string | null;
      retryAfter: string | null;
      body: Buffer;
      truncated: boolean;
    }
  | { kind: 'network_error'; code: string; message: string };

/** The connection pool collectors fetch through. undici is loaded here, on first use: commands that fetch nothing never pay for it. */
export async function createDispatcher(p: HttpPolicy): Promise<Dispatcher> {
  const { Agent } = await import('undici');
  return new Agent({
    connectTimeout: p.connect_timeout_ms,
    headersTimeout: p.headers_timeout_ms,
    bodyTimeout: p.body_timeout_ms,
    connections: 4,
  });
}

/** Reads at most `cap` bytes; anything beyond is not read, and the result says so. */
async function readCapped(res: Response, cap: number): Promise<{ body: Buffer; truncated: boolean }> {
  if (!res.body) return { body: Buffer.alloc(0), truncated: false };
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (size + chunk.byteLength > cap) {
      chunks.push(chunk.subarray(0, cap - size));
      // Not awaited: some sources never settle a cancel, and the cap must hold regardless.
      reader.cancel().catch(() => undefined);
      return { body: Buffer.concat(chunks, cap), truncated: true };
    }
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  return { body: Buffer.concat(chunks, size), truncated: false };
}

function networkError(err: unknown, totalTimeoutMs: number): HttpResult {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string; name?: string } };
  if (e?.name === 'TimeoutError') return { kind: 'network_error', code: 'timeout', message: `no complete response within ${totalTimeoutMs} ms` };
  if (e?.name === 'AbortError') return { kind: 'network_error', code: 'aborted', message: 'request aborted (shutting down)' };
  const code = e?.cause?.code ?? e?.name ?? 'network_error';
  const timeouts: Record<string, string> = {
    UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
    UND_ERR_HEADERS_TIMEOUT: 'timeout waiting for response headers',
    UND_ERR_BODY_TIMEOUT: 'timeout while reading the response body',
  };
  const message = timeouts[code] ?? [e?.message, e?.cause?.message].filter(Boolean).join(': ');
  return { kind: 'network_error', code, message: message || 'network error' };
}

export async function fetchOnce(
  fetchFn: FetchFn,
  spec: HttpRequestSpec,
  policy: HttpPolicy,
  dispatcher: Dispatcher | undefined,
  shutdown?: AbortSignal,
): Promise<HttpResult> {
  const timeout = AbortSignal.timeout(policy.total_timeout_ms);
  const signal = shutdown ? AbortSignal.any([timeout, shutdown]) : timeout;
  try {
    const res = await fetchFn(spec.url, {
      method: spec.method,
      headers: { accept: 'application/json', 'user-agent': 'gpuidx-collector', ...spec.headers },
      body: spec.body,
      signal,
      redirect: 'follow',
      ...(dispatcher ? { dispatcher } : {}),
    });
    const { body, truncated } = await readCapped(res, policy.max_body_bytes);
    return {
      kind: 'response',
      status: res.status,
      contentType: res.headers.get('content-type'),
      retryAfter: res.headers.get('retry-after'),
      body,
      truncated,
    };
  } catch (err) {
    return networkError(err, policy.total_timeout_ms);
  }
}

/** Retry-After is either delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

export type RetryDecision = { retry: false; why: string } | { retry: true; delayMs: number; why: string };

/**
 * Whether to try again after attempt number `attempt` (1-based). Network errors, 429 and 5xx are retried
 * with exponential backoff and full jitter; a 429's Retry-After is honoured; other 4xx never are.
 */
export function decideRetry(result: HttpResult, attempt: number, policy: HttpPolicy, random: () => number, now: number): RetryDecision {
  let why: string;
  if (result.kind === 'network_error') {
    if (result.code === 'aborted') return { retry: false, why: 'aborted' };
    why = `${result.code}: ${result.message}`;
  } else if (result.status === 429 || result.status >= 500) {
    why = `HTTP ${result.status}`;
  } else {
    return { retry: false, why: result.status >= 400 ? `HTTP ${result.status} is not retried` : 'success' };
  }
  if (attempt >= policy.max_attempts) return { retry: false, why: `${why}; gave up after ${attempt} attempts` };
  const backoff = Math.min(policy.backoff_max_ms, policy.backoff_base_ms * 2 ** (attempt - 1));
  const jittered = Math.floor(random() * backoff);
  if (result.kind === 'response' && result.status === 429) {
    const asked = parseRetryAfter(result.retryAfter, now);
    if (asked !== null) {
      if (asked > policy.retry_after_max_ms) return { retry: false, why: `${why}; Retry-After ${asked} ms exceeds ${policy.retry_after_max_ms} ms` };
      return { retry: true, delayMs: Math.max(asked, jittered), why };
    }
  }
  return { retry: true, delayMs: jittered, why };
}
