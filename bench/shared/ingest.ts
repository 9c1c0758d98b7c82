// What the benchmarks share to store one venue response through the real ingest path (store raw, parse, store).
import { ingestBody } from '../../src/collectors/ingest.js';
import { createRedactor } from '../../src/collectors/redact.js';
import { VENUES, type VenueName } from '../../src/collectors/venues/index.js';
import type { Db } from '../../src/storage/index.js';

/** Stores `body` as `venue`'s answer fetched at `at`, parsed by the venue's current parser; returns the observations stored. */
export async function storeResponse(db: Db, venue: VenueName, body: Buffer, at: number): Promise<number> {
  const adapter = VENUES[venue];
  const r = await ingestBody(db, {
    venue,
    fetchedAt: at,
    source: 'http',
    requestMethod: 'GET',
    requestUrl: `https://example.invalid/${venue}`,
    requestBody: null,
    received: { status: 200, contentType: 'application/json', body, truncated: false },
    parserVersion: adapter.parserVersion,
    parserOptions: { default_quantity: 1 },
    parse: (json, options) => adapter.parse(json, options),
    runId: null,
    redactor: createRedactor([]),
    receivedAt: at,
  });
  return r.observations;
}
