#!/usr/bin/env node
// `npm run methodology:lock`: prints the lock entries of every methodology version as the sources stand;
// `-- --write` records them in methodology/METHODOLOGY.lock. Rewriting an existing version's entry is only right for
// a change that provably alters no published digit (comments, formatting); say so in methodology/CHANGELOG.md.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importFromSource } from './load.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { loadMethodologies } = await importFromSource('methodology/params');
const { lockEntry } = await importFromSource('methodology/lock');
const lock = Object.fromEntries(loadMethodologies().map((m) => [m.version, lockEntry(m)]));
const text = `${JSON.stringify(lock, null, 2)}\n`;
if (process.argv.includes('--write')) writeFileSync(join(root, 'methodology', 'METHODOLOGY.lock'), text);
else process.stdout.write(text);
