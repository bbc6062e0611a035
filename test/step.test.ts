/**
 * Whole-step parity with PyTorch (test/fixtures/step.safetensors, scripts/fixtures/step_fixture.py):
 * same initial weights, same real batches and z, 3 full steps of the reference loop through the
 * same StepPlan the CLI trains with; losses, every parameter, BN running stats and Adam moments.
 */
import { describe, expect, it } from 'vitest';
import { GanTrainer } from '../src/train/trainer.js';
import { TEST_CONFIG } from './helpers/config.js';
import type { DPasses } from '../src/model/limits.js';
import { loadImageSet } from '../src/data/files.js';
import { normalizationTable } from '../src/data/normalize.js';
import { compareClose } from './helpers/compare.js';
import { expectStateMatches } from './helpers/step-parity.js';
import { loadFixture } from './helpers/fixtures.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';
import { hashTensor, type HashSpec } from './helpers/hashdata.js';

const fixture = loadFixture('step');
const meta = JSON.parse(fixture.metadata.step!) as { batch: number; steps: number; init: Record<'g' | 'd', Record<string, HashSpec>> };
const ref = (key: string) => fixture.values(key) as Float32Array;
const B = meta.batch;

const set = loadImageSet('mnist', 'train');
const table = normalizationTable();

function realBatch(step: number): Float32Array {
  const px = set.height * set.width;
  return Float32Array.from(set.pixels.subarray(step * B * px, (step + 1) * B * px), (b) => table[b]!);
}

describe.each(TEST_BACKENDS)('training step parity with PyTorch on %s', (backend) => {
  const gpu = useGpu(backend);
  // D's two passes as one (the default) everywhere; the two-pass comparison variant on one
  // adapter (gles, the fast compiler), where it costs seconds.
  const variants: DPasses[] = backend === 'gles' ? ['merged', 'separate'] : ['merged'];

  it.each(variants)(`matches ${meta.steps} steps of the reference loop (D passes %s)`, async (dPasses) => {
    const g = gpu();
    const trainer = await GanTrainer.create(g, null, { ...TEST_CONFIG, batchSize: B, dPasses });
    for (const [prefix, model] of [['g', trainer.G], ['d', trainer.D]] as const) {
      for (const [name, spec] of Object.entries(meta.init[prefix])) g.write(model.params.view('param', name), hashTensor(spec));
    }
    for (let step = 0; step < meta.steps; step++) {
      const plan = await trainer.stepWith(realBatch(step), ref(`z${step}`), B);
      const s = await trainer.stats(plan);
      expect(compareClose([s.dLoss], ref(`d_loss${step}`), { rtol: 1e-4, floor: 0 }), `d_loss step ${step}`).toBeNull();
      expect(compareClose([s.gLoss], ref(`g_loss${step}`), { rtol: 1e-4, floor: 0 }), `g_loss step ${step}`).toBeNull();
    }
    expect(await trainer.firstNonFiniteStep()).toBeNull();

    await expectStateMatches(g, trainer, ref, meta.steps, backend);
  });
});
