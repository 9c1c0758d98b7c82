// The methodology lock: no version's parameters or engine source may change without a new version.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineHash, lockEntry, type LockEntry } from '../../src/methodology/lock.js';
import { loadMethodologies, METHODOLOGY_DIR } from '../../src/methodology/params.js';

const lock = JSON.parse(readFileSync(join(METHODOLOGY_DIR, 'METHODOLOGY.lock'), 'utf8')) as Record<string, LockEntry>;
const SRC = join(import.meta.dirname, '..', '..', 'src', 'methodology');

describe('METHODOLOGY.lock', () => {
  it.each(loadMethodologies().map((m) => [m.version, m] as const))('version %s: parameters and engine source are as locked', (version, m) => {
    const now = lockEntry(m);
    // On failure: a change to a published version's parameters or calculation is a new version (methodology/vN.json
    // and its engine), announced under GOVERNANCE.md. Only a change that alters no digit (a comment) may be
    // re-locked, with `npm run methodology:lock -- --write` and a CHANGELOG.md line saying why.
    expect({ version, ...now }).toEqual({ version, ...lock[version] });
  });

  it('keeps every locked version registered, and the changelog names each one', () => {
    const versions = loadMethodologies().map((m) => m.version);
    expect(Object.keys(lock).sort()).toEqual([...versions].sort());
    const changelog = readFileSync(join(METHODOLOGY_DIR, 'CHANGELOG.md'), 'utf8');
    for (const v of versions) expect(changelog).toContain(`## ${v} `);
  });

  it('notices a one-character change to an engine file', () => {
    const copy = mkdtempSync(join(tmpdir(), 'gpuidx-lock-'));
    cpSync(SRC, copy, { recursive: true });
    const files = lock['1.0.0']!.engine_files;
    expect(engineHash(files, copy)).toBe(lock['1.0.0']!.engine_sha256);
    const shared = join(copy, 'shared.ts');
    writeFileSync(shared, readFileSync(shared, 'utf8').replace('x.toFixed(decimals)', 'x.toFixed(decimals + 0)'));
    expect(engineHash(files, copy)).not.toBe(lock['1.0.0']!.engine_sha256);
  });
});
