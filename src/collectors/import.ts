// `gpuidx import FILE`: each JSON Lines line is stored as one raw snapshot, byte for byte, then parsed like a fetched body.
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Db } from '../storage/index.js';
import type { Logger } from '../log/index.js';
import { ingestBody } from './ingest.js';
import { createRedactor, type Redactor } from './redact.js';

const NO_SECRETS = createRedactor([]);
import { GENERIC_PARSER_VERSION, lineIdentity, parseGenericLine } from './venues/generic.js';

export interface ImportDeps {
  db: Db;
  clock: () => number;
  log: Logger;
  redactor?: Redactor;
}

export interface ImportSummary {
  lines: number;
  snapshots: number;
  duplicates: number;
  observations: number;
  partial: number;
  rejected: number;
}

/** The venue under which a line that names no valid venue is filed (its bytes are kept all the same). */
export const UNIDENTIFIED_VENUE = 'file';

/** Yields each line's exact bytes (without its `\n`), streaming, so a large file never sits whole in memory. */
export async function* readLines(path: string): AsyncGenerator<Buffer> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl !== -1; nl = data.indexOf(0x0a, start)) {
      yield data.subarray(start, nl);
      start = nl + 1;
    }
    carry = Buffer.from(data.subarray(start));
    data = Buffer.alloc(0);
  }
  if (carry.length) yield carry;
}

export async function importFile(deps: ImportDeps, path: string): Promise<ImportSummary> {
  const summary: ImportSummary = { lines: 0, snapshots: 0, duplicates: 0, observations: 0, partial: 0, rejected: 0 };
  const name = basename(path);
  let lineNo = 0;
  for await (const line of readLines(path)) {
    lineNo += 1;
    if (line.toString('utf8').trim() === '') continue;
    summary.lines += 1;
    let identity: ReturnType<typeof lineIdentity> = null;
    try {
      identity = lineIdentity(JSON.parse(line.toString('utf8')));
    } catch {
      identity = null;
    }
    const result = await ingestBody(deps.db, {
      venue: identity?.venue ?? UNIDENTIFIED_VENUE,
      fetchedAt: identity?.fetchedAt ?? deps.clock(),
      source: 'file',
      requestMethod: 'IMPORT',
      requestUrl: `file:${name}#L${lineNo}`,
      requestBody: null,
      received: { status: null, contentType: 'application/json', body: Buffer.from(line), truncated: false },
      parserVersion: GENERIC_PARSER_VERSION,
      parserOptions: { default_quantity: 1 },
      parse: parseGenericLine,
      runId: null,
      redactor: deps.redactor ?? NO_SECRETS,
    });
    if (result.duplicate) {
      summary.duplicates += 1;
      continue;
    }
    summary.snapshots += 1;
    summary.observations += result.observations;
    if (result.outcome === 'partial') {
      summary.partial += 1;
      deps.log.warn(`${name}:${lineNo}: snapshot ${result.snapshotId} partial: ${result.error}`);
    }
    if (result.outcome === 'rejected') {
      summary.rejected += 1;
      deps.log.error(`${name}:${lineNo}: snapshot ${result.snapshotId} rejected: ${result.error}`);
    }
  }
  return summary;
}
