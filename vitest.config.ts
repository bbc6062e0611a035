import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The longest files first, whatever vitest's own duration cache says (a clean clone has none and
 * would start them by file size): two workers then finish together instead of one waiting on a
 * long file started last. Measured on a 2-core machine with a cold shader cache (docs/benchmarks.md, CI).
 */
const LONGEST_FIRST = ['ops', 'web', 'matmul', 'train-cli', 'crash', 'dcgan64-step', 'conditional-step', 'fusion', 'package', 'health-run', 'd-passes', 'eval', 'conditional', 'folder-train', 'folder-eval', 'cli', 'programs', 'step'].map((n) => `test/${n}.test.ts`);

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONGEST_FIRST.findIndex((n) => f.moduleId.endsWith(n));
      return i < 0 ? LONGEST_FIRST.length : i;
    };
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

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
    // Files share a worker's module state: one GPU device per adapter and its pipeline cache
    // (test/helpers/gpu.ts), so a kernel is compiled once per worker, not once per file.
    isolate: false,
    sequence: { sequencer: LongestFirst },
    // Pipeline compilation on SwiftShader can take a second per kernel.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
