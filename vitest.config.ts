import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests open real SQLite files in temp dirs; two workers fit the 2-core CI machine.
    pool: 'forks',
    // Sized for a busy two-core machine: the slowest files start child processes; none races a clock.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
