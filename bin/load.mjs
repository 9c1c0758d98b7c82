// Loads a gpuidx module: the compiled JavaScript in dist/ (built by `npm ci` through the `prepare` script, or by
// `npm run build`) when the build began after every source file was saved, else the TypeScript source through tsx, so a
// checkout being edited never runs stale code. `rel` names a module under src/ without extension: 'cli/main'.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = join(ROOT, 'dist', '.built');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** True when dist/ holds a build begun after every source file was last saved (about a millisecond to check). */
export function compiledIsFresh() {
  if (!existsSync(STAMP)) return false;
  const builtAt = Number(readFileSync(STAMP, 'utf8'));
  return Number.isFinite(builtAt) && builtAt >= newestSource(join(ROOT, 'src'));
}

let tsxRegistered = false;

export async function importFromSource(rel) {
  if (compiledIsFresh()) return import(pathToFileURL(join(ROOT, 'dist', `${rel}.js`)).href);
  if (!tsxRegistered) {
    const { register } = await import('tsx/esm/api');
    register();
    tsxRegistered = true;
  }
  return import(pathToFileURL(join(ROOT, 'src', `${rel}.ts`)).href);
}
