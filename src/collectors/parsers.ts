// Every parser version that ever stored a snapshot, by the version string recorded on it. A replay parses an old
// snapshot with the parser that read it then. When parsing changes, the adapter's version is bumped and the old
// function stays registered here under its old version (for example `vast/1` → a kept `parseVastV1`).
import type { ParsedPayload, ParserOptions } from './adapter.js';
import { GENERIC_PARSER_VERSION, parseGenericLine } from './venues/generic.js';
import { VENUES } from './venues/index.js';
import { parseAkashV1 } from './venues/akash.js';
import { parseAzureV1 } from './venues/azure.js';
import { parseLambdaV1 } from './venues/lambda.js';
import { parseRunpodV1 } from './venues/runpod.js';
import { parseTensordockV1 } from './venues/tensordock.js';
import { parseVastV1, parseVastV2, parseVastV3 } from './venues/vast.js';

export type ParseFn = (json: unknown, options: ParserOptions) => ParsedPayload;

const registry = new Map<string, ParseFn>([
  ...Object.values(VENUES).map((a): [string, ParseFn] => [a.parserVersion, (json, options) => a.parse(json, options)]),
  [GENERIC_PARSER_VERSION, parseGenericLine],
  // Superseded versions, still runnable for replay.
  ['vast/1', parseVastV1],
  ['vast/2', parseVastV2],
  ['vast/3', parseVastV3],
  ['azure/1', parseAzureV1],
  ['runpod/1', parseRunpodV1],
  ['lambda/1', parseLambdaV1],
  ['tensordock/1', parseTensordockV1],
  ['akash/1', parseAkashV1],
]);

export function parserFor(version: string): ParseFn | undefined {
  return registry.get(version);
}

export function parserVersions(): string[] {
  return [...registry.keys()].sort();
}
