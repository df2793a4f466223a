import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (no server) and `int` (one MongoDB for the whole run, started by
 * test/helpers/globalSetup.ts, one database per test file). `npm test` runs both.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.unit.test.ts'],
          sequence: { groupOrder: 0 },
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: 'int',
          include: ['test/int/**/*.int.test.ts'],
          sequence: { groupOrder: 1 },
          globalSetup: ['test/helpers/globalSetup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // The fallback server is single-threaded Java on a 2-core machine: keep files serial-ish.
          maxWorkers: 2,
        },
      },
    ],
  },
});
