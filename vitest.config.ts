import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Tests run the TypeScript sources: the `source` condition of package.json's imports/exports.
  resolve: { conditions: ['source', ...defaultServerConditions] },
  ssr: { resolve: { conditions: ['source', ...defaultServerConditions] } },
  test: {
    include: ['test/**/*.test.ts'],
    // Dawn is a native addon: one process per test file, never worker threads.
    pool: 'forks',
    // Two files at a time (vitest's default is cores - 1, one on the 2-core CI machine): much of a
    // file's time is one-threaded shader compilation or waiting on a subprocess or the browser.
    maxWorkers: 2,
    // Pipeline compilation on SwiftShader can take a second per kernel.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
