import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Three workers on the 2-core CI machine: much of the suite waits on PostgreSQL, child processes and the browser
    // rather than computing (measured on 2026-12-01: 257 s with two workers, 148 s with three, 150 s with four).
    maxWorkers: 3,
    // Sized for a busy two-core machine: the slowest files start child processes; none races a clock.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
