#!/usr/bin/env node
// `npm run build` (and `prepare`, which `npm ci` runs): compile src/ to dist/, then stamp the build, so that
// bin/load.mjs runs dist/ only while no source file is newer than the stamp.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const started = Date.now();
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
// The stamp carries the start time: a source saved while tsc ran is newer than it, so it is never run stale.
writeFileSync(join(root, 'dist', '.built'), `${started}\n`);
