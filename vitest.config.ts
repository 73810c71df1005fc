import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests run in parallel; tests that touch the kernel's
// single audit daemon slot and rule list run one file at a time (fileParallelism: false)
// and each also takes the kernel lock (test/helpers/kernel.ts).
export default defineConfig({
  test: {
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'kernel',
          include: ['test/kernel/**/*.test.ts'],
          // A live audit daemon that is not ours stops the run at once (test/setup/audit-slot.ts).
          globalSetup: ['test/setup/audit-slot.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 360_000,
        },
      },
    ],
  },
});
