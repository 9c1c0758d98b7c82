// The calculation behind each methodology version. Parameters live in methodology/v<N>.json; the code that
// applies them is registered here by major version, so that a v2 calculation never changes how a v1 fixing
// replays: v2 adds its own engine module and entry, and v1's stays runnable.
import { fixingsOf, type FixingRequest, type FixingResult } from './fixing.js';
import type { Methodology } from './params.js';
import { fixingsOfV2 } from './v2.js';

export type Engine = (req: FixingRequest) => Generator<FixingResult>;

const engines: Record<string, Engine> = {
  '1': fixingsOf,
  '2': fixingsOfV2,
};

export class NoEngineError extends Error {
  constructor(readonly version: string) {
    super(`no calculation registered for methodology ${version}`);
    this.name = 'NoEngineError';
  }
}

export function engineFor(m: Methodology): Engine {
  const engine = engines[m.version.split('.')[0]!];
  if (!engine) throw new NoEngineError(m.version);
  return engine;
}
