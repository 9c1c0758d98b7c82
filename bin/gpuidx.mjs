#!/usr/bin/env node
// Entry point: loads the TypeScript sources through tsx so that no build step stands between a clone and a run.
import { register } from 'tsx/esm/api';

// Output piped into `head` and closed early is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
