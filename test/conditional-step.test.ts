/**
 * Whole-step parity of conditional training with PyTorch (test/fixtures/conditional.safetensors,
 * scripts/fixtures/conditional_fixture.py): for each head, the same initial weights, real batches
 * with their labels (G asked for the same classes) and z, 3 steps through the StepPlan the CLI
 * trains with; losses, every parameter, BN running stats and Adam moments, at test/step.test.ts's
 * tolerances (test/helpers/step-parity.ts states and justifies them).
 */
import { describe, expect, it } from 'vitest';
import { GanTrainer } from '../src/train/trainer.js';
import { TEST_CONFIG } from './helpers/config.js';
import type { DPasses } from '../src/model/limits.js';
import type { Head } from '../src/shaders/conditional.js';
import { loadImageSet } from '../src/data/files.js';
import { normalizationTable } from '../src/data/normalize.js';
import { compareClose } from './helpers/compare.js';
import { loadFixture } from './helpers/fixtures.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';
import { hashTensor, type HashSpec } from './helpers/hashdata.js';
import { expectStateMatches } from './helpers/step-parity.js';

const fixture = loadFixture('conditional');
const meta = JSON.parse(fixture.metadata.conditional!) as {
  batch: number;
  steps: number;
  classes: number;
  /** Each head's first image: the start where PyTorch's own float32 and float64 runs agree (the fixture script says why). */
  first: Record<Head, number>;
  init: Record<Head, Record<'g' | 'd', Record<string, HashSpec>>>;
};
const B = meta.batch;

const set = loadImageSet('mnist', 'train');
const table = normalizationTable();
const realBatch = (first: number, step: number) => {
  const px = set.height * set.width;
  return Float32Array.from(set.pixels.subarray((first + step * B) * px, (first + (step + 1) * B) * px), (b) => table[b]!);
};

describe.each(TEST_BACKENDS)('conditional training step parity with PyTorch on %s', (backend) => {
  const gpu = useGpu(backend);
  // Both heads and both D-pass modes on gles (the fast compiler); the default head, merged, on SwiftShader.
  const cases: Array<[Head, DPasses]> = backend === 'gles' ? [['projection', 'merged'], ['acgan', 'merged'], ['projection', 'separate']] : [['projection', 'merged']];

  it.each(cases)(`matches ${meta.steps} steps of the conditional reference loop (%s head, D passes %s)`, async (head, dPasses) => {
    const g = gpu();
    const ref = (key: string) => fixture.values(`${head}.${key}`) as Float32Array;
    const trainer = await GanTrainer.create(g, null, { ...TEST_CONFIG, batchSize: B, dPasses, conditional: head, classes: meta.classes });
    expect(trainer.G.namedParamSpecs()[0]!.shape).toEqual([128 * 7 * 7, 100 + meta.classes]);
    expect(trainer.D.namedParamSpecs().at(-1)!.shape).toEqual([1 + meta.classes]);
    for (const [prefix, model] of [['g', trainer.G], ['d', trainer.D]] as const) {
      for (const [name, spec] of Object.entries(meta.init[head][prefix])) g.write(model.params.view('param', name), hashTensor(spec));
    }
    for (let step = 0; step < meta.steps; step++) {
      const labels = ref(`y${step}`);
      expect(Array.from(labels), 'the fixture\'s labels are the data set\'s').toEqual(Array.from(set.labels.subarray(meta.first[head] + step * B, meta.first[head] + (step + 1) * B)));
      const plan = await trainer.stepWith(realBatch(meta.first[head], step), ref(`z${step}`), B, labels);
      const s = await trainer.stats(plan);
      expect(compareClose([s.dLoss], ref(`d_loss${step}`), { rtol: 1e-4, floor: 0 }), `d_loss step ${step}`).toBeNull();
      expect(compareClose([s.gLoss], ref(`g_loss${step}`), { rtol: 1e-4, floor: 0 }), `g_loss step ${step}`).toBeNull();
    }
    expect(await trainer.firstNonFiniteStep()).toBeNull();
    await expectStateMatches(g, trainer, ref, meta.steps, `${backend} ${head}`);
  });
});
