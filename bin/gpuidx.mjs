#!/usr/bin/env node
// Entry point: loads the TypeScript sources through tsx so that no build step stands between a clone and a run.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
