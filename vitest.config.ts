import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Dawn is a native addon: one process per test file, never worker threads.
    pool: 'forks',
    // Pipeline compilation on SwiftShader can take a second per kernel.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
