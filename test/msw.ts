// One msw server per test file, intercepting the global fetch that the collectors call; unhandled requests fail the test.
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';

export function useMsw() {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());
  return server;
}

export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
