// The methodology lock: per version, the hash of its parameter document and of the engine source that computes it.
// methodology/METHODOLOGY.lock records them; a test (run by `npm test`, so by CI) fails when either changes
// without a new version, as EU-CRI's METHODOLOGY.lock does. See methodology/GOVERNANCE.md for the change process.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parameterHash, type Methodology } from './params.js';

const SRC = join(import.meta.dirname, '..', '..', 'src', 'methodology');

/** The source files whose text decides each major version's digits (the engine and every shared piece it uses). */
const SHARED = ['canonical.ts', 'columns.ts', 'quantile.ts', 'series.ts', 'shared.ts', 'types.ts'];
export const ENGINE_FILES: Record<string, readonly string[]> = {
  '1': ['fixing.ts', ...SHARED],
  '2': ['v2.ts', ...SHARED],
};

export interface LockEntry {
  parameters_sha256: string;
  engine_sha256: string;
  engine_files: readonly string[];
}

/** sha256 over each engine file's name and text (line endings as LF), in the listed order. */
export function engineHash(files: readonly string[], dir = SRC): string {
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f}\n${readFileSync(join(dir, f), 'utf8').replace(/\r\n/g, '\n')}\n`);
  return hash.digest('hex');
}

export function lockEntry(m: Methodology): LockEntry {
  const files = ENGINE_FILES[m.version.split('.')[0]!];
  if (!files) throw new Error(`no engine files listed for methodology ${m.version}`);
  return { parameters_sha256: parameterHash(m), engine_sha256: engineHash(files), engine_files: files };
}
