// The retry rule, table-driven: what is retried, after how long, and what is never retried.
import { describe, expect, it } from 'vitest';
import { decideRetry, httpPolicySchema, parseRetryAfter, type HttpResult } from '../../src/collectors/http.js';

const policy = httpPolicySchema.parse({ max_attempts: 4, backoff_base_ms: 1000, backoff_max_ms: 5000, retry_after_max_ms: 120_000 });
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const response = (status: number, retryAfter: string | null = null): HttpResult => ({
  kind: 'response',
  status,
  contentType: null,
  retryAfter,
  body: Buffer.alloc(0),
  truncated: false,
});
const neterr: HttpResult = { kind: 'network_error', code: 'ECONNRESET', message: 'socket hang up' };

describe('decideRetry', () => {
  it.each([
    ['200 is done', response(200), 1, 0.5, { retry: false, why: 'success' }],
    ['404 is never retried', response(404), 1, 0.5, { retry: false, why: 'HTTP 404 is not retried' }],
    ['401 is never retried', response(401), 1, 0.5, { retry: false, why: 'HTTP 401 is not retried' }],
    ['500, attempt 1: up to base', response(500), 1, 0.5, { retry: true, delayMs: 500, why: 'HTTP 500' }],
    ['503, attempt 2: up to 2 x base', response(503), 2, 0.5, { retry: true, delayMs: 1000, why: 'HTTP 503' }],
    ['503, attempt 3: up to 4 x base', response(503), 3, 0.999, { retry: true, delayMs: 3996, why: 'HTTP 503' }],
    ['jitter can be zero', response(502), 1, 0, { retry: true, delayMs: 0, why: 'HTTP 502' }],
    ['last attempt gives up', response(500), 4, 0.5, { retry: false, why: 'HTTP 500; gave up after 4 attempts' }],
    ['network error retried', neterr, 1, 0.5, { retry: true, delayMs: 500, why: 'ECONNRESET: socket hang up' }],
    ['429 with Retry-After seconds', response(429, '30'), 1, 0.5, { retry: true, delayMs: 30_000, why: 'HTTP 429' }],
    ['429 with an HTTP date', response(429, new Date(NOW + 45_000).toUTCString()), 1, 0.5, { retry: true, delayMs: 45_000, why: 'HTTP 429' }],
    ['429 without Retry-After backs off', response(429), 2, 0.5, { retry: true, delayMs: 1000, why: 'HTTP 429' }],
    ['429 asking too long gives up', response(429, '3600'), 1, 0.5, { retry: false, why: 'HTTP 429; Retry-After 3600000 ms exceeds 120000 ms' }],
    ['shutdown abort is not retried', { kind: 'network_error', code: 'aborted', message: 'x' } as HttpResult, 1, 0.5, { retry: false, why: 'aborted' }],
  ])('%s', (_name, result, attempt, random, expected) => {
    expect(decideRetry(result, attempt, policy, () => random, NOW)).toEqual(expected);
  });

  it('caps the backoff at backoff_max_ms', () => {
    const long = httpPolicySchema.parse({ max_attempts: 10, backoff_base_ms: 1000, backoff_max_ms: 5000 });
    expect(decideRetry(response(500), 8, long, () => 0.999, NOW)).toEqual({ retry: true, delayMs: 4995, why: 'HTTP 500' });
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120_000],
    [' 0 ', 0],
    [new Date(NOW + 5000).toUTCString(), 5000],
    [new Date(NOW - 5000).toUTCString(), 0],
    ['soon', null],
    [null, null],
  ])('%j gives %j ms', (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });
});
