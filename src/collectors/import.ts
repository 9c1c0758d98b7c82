// `gpuidx import FILE`: each JSON Lines line is stored as one raw snapshot, byte for byte, then parsed like a fetched body.
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Db } from '../storage/index.js';
import type { Logger } from '../log/index.js';
import type { DecodedBody } from './body.js';
import { commitIngests, prepareIngest, withoutBom, type PreparedIngest } from './ingest.js';
import { createRedactor, type Redactor } from './redact.js';
import { GENERIC_PARSER_VERSION, implausibleFetchedAt, lineIdentity, parseGenericLine } from './venues/generic.js';

const NO_SECRETS = createRedactor([]);

export interface ImportDeps {
  db: Db;
  clock: () => number;
  log: Logger;
  redactor?: Redactor;
  /** Longest line accepted, in bytes (default 256 MiB); a longer one is skipped and reported, never read whole. */
  maxLineBytes?: number;
}

export interface ImportSummary {
  lines: number;
  snapshots: number;
  duplicates: number;
  observations: number;
  partial: number;
  rejected: number;
  /** Lines longer than the cap: reported, not stored (they cannot be held to be stored). */
  oversized: number;
}

/** The venue under which a line that names no valid venue is filed (its bytes are kept all the same). */
export const UNIDENTIFIED_VENUE = 'file';

export const DEFAULT_MAX_LINE_BYTES = 256 * 1024 * 1024;

export type Line = { kind: 'line'; bytes: Buffer } | { kind: 'oversized'; bytes: number };

/**
 * Yields each line's exact bytes (without its `\n`), streaming: a line's chunks are collected in a list and joined
 * once, so time is linear in the input however long a line is; a line over `maxLineBytes` is counted, not kept.
 */
export async function* readLines(path: string, maxLineBytes = DEFAULT_MAX_LINE_BYTES): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let size = 0;
  let oversized = false;
  const take = (piece: Buffer) => {
    if (oversized) {
      size += piece.length;
      return;
    }
    if (size + piece.length > maxLineBytes) {
      oversized = true;
      parts = [];
    } else parts.push(piece);
    size += piece.length;
  };
  const finish = (): Line => {
    const line: Line = oversized
      ? { kind: 'oversized', bytes: size }
      : { kind: 'line', bytes: parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts, size) };
    parts = [];
    size = 0;
    oversized = false;
    return line;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      take(chunk.subarray(start, nl));
      yield finish();
      start = nl + 1;
    }
    if (start < chunk.length) take(chunk.subarray(start));
  }
  if (size > 0 || oversized) yield finish();
}

/**
 * Lines are stored in groups, one transaction per group: up to this many lines, or fewer when their bytes reach
 * GROUP_BYTES (one commit per line cost about a tenth of an import of many small lines). A crash loses at most the
 * group being stored, whole, never part of a line; importing the file again stores what is missing and skips the rest.
 */
const GROUP_LINES = 64;
const GROUP_BYTES = 16 * 1024 * 1024;

export async function importFile(deps: ImportDeps, path: string): Promise<ImportSummary> {
  const summary: ImportSummary = { lines: 0, snapshots: 0, duplicates: 0, observations: 0, partial: 0, rejected: 0, oversized: 0 };
  const name = basename(path);
  // Lines are stored in file order, as they were read.
  let group: { lineNo: number; prepared: PreparedIngest }[] = [];
  let groupBytes = 0;
  const storeGroup = async () => {
    if (group.length === 0) return;
    const stored = group;
    group = [];
    groupBytes = 0;
    const results = await commitIngests(
      deps.db,
      stored.map((g) => g.prepared),
    );
    results.forEach((result, i) => {
      const { lineNo } = stored[i]!;
      if (result.duplicate) {
        summary.duplicates += 1;
        return;
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
    });
  };
  let lineNo = 0;
  for await (const line of readLines(path, deps.maxLineBytes)) {
    lineNo += 1;
    if (line.kind === 'oversized') {
      summary.lines += 1;
      summary.oversized += 1;
      deps.log.error(`${name}:${lineNo}: line of ${line.bytes} bytes is over the ${deps.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES}-byte line cap; not stored`);
      continue;
    }
    const text = withoutBom(line.bytes).toString('utf8');
    if (text.trim() === '') continue;
    summary.lines += 1;
    // The line is decoded once: for its venue and instant here, and as the body the parser reads.
    let json: unknown;
    let decoded: DecodedBody | undefined;
    try {
      json = JSON.parse(text);
      decoded = { ok: true, json };
    } catch {
      decoded = undefined;
    }
    const identity = decoded ? lineIdentity(json) : null;
    const receivedAt = deps.clock();
    // A line claiming an impossible time is filed at its receipt time (its bytes say what it claimed) and rejected.
    const fetchedAt = identity && implausibleFetchedAt(identity.fetchedAt, receivedAt) === null ? identity.fetchedAt : receivedAt;
    const prepared = prepareIngest(
      {
        venue: identity?.venue ?? UNIDENTIFIED_VENUE,
        fetchedAt,
        source: 'file',
        requestMethod: 'IMPORT',
        requestUrl: `file:${name}#L${lineNo}`,
        requestBody: null,
        received: { status: null, contentType: 'application/json', body: line.bytes, truncated: false },
        parserVersion: GENERIC_PARSER_VERSION,
        parserOptions: { default_quantity: 1, strip_bom: true, received_at: receivedAt },
        parse: parseGenericLine,
        runId: null,
        redactor: deps.redactor ?? NO_SECRETS,
        receivedAt,
      },
      decoded,
    );
    group.push({ lineNo, prepared });
    groupBytes += line.bytes.byteLength;
    if (group.length >= GROUP_LINES || groupBytes >= GROUP_BYTES) await storeGroup();
  }
  await storeGroup();
  return summary;
}
