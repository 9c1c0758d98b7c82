import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests open real SQLite files in temp dirs; two workers fit the 2-core CI machine.
    pool: 'forks',
    testTimeout: 20_000,
  },
});
