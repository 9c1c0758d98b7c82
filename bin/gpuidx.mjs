#!/usr/bin/env node
// Entry point: runs the compiled JavaScript (no TypeScript compiler at run time); a checkout whose sources are
// newer than its build runs them through tsx instead (see load.mjs).
import { importFromSource } from './load.mjs';

// Output piped into `head` and closed early is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const { main } = await importFromSource('cli/main');
process.exitCode = await main(process.argv);
