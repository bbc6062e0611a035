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
    // Pipeline compilation on SwiftShader can take a second per kernel.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
