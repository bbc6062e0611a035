/**
 * Whole-step parity of pytorch/examples' 64x64 dcgan (--arch dcgan64) with PyTorch at a small
 * width (test/fixtures/dcgan64.safetensors, scripts/fixtures/dcgan64_fixture.py: ngf = ndf = 8,
 * 3 channels, batch 4): the same initial weights, real batches and z, 3 steps of its loop through
 * the StepPlan the CLI trains with; losses, every parameter, BN running stats and Adam moments
 * at test/step.test.ts's tolerances (test/helpers/step-parity.ts states and justifies them; the
 * model has no biases, so none of its zero-gradient allowances apply).
 */
import { describe, expect, it } from 'vitest';
import { GanTrainer } from '../src/train/trainer.js';
import { TEST_CONFIG } from './helpers/config.js';
import type { DPasses } from '../src/model/limits.js';
import { compareClose } from './helpers/compare.js';
import { loadFixture } from './helpers/fixtures.js';
import { useGpu } from './helpers/gpu.js';
import { hashTensor, type HashSpec } from './helpers/hashdata.js';
import { expectStateMatches } from './helpers/step-parity.js';

const fixture = loadFixture('dcgan64');
const meta = JSON.parse(fixture.metadata.dcgan64!) as {
  batch: number;
  steps: number;
  nz: number;
  ngf: number;
  ndf: number;
  nc: number;
  real_salt: number;
  init: Record<'g' | 'd', Record<string, HashSpec>>;
};
const B = meta.batch;
const ref = (key: string) => fixture.values(key) as Float32Array;

// gles only: SwiftShader compiles this model's kernels in minutes on the 2-core CI machine, and
// runs the same layer kinds (bias-free convolutions, a 1x1 output) in the reference models' tests.
describe.each(['gles'] as const)('dcgan64 training step parity with PyTorch on %s', (backend) => {
  const gpu = useGpu(backend);
  const cases: DPasses[] = ['merged', 'separate'];

  it.each(cases)(`matches ${meta.steps} steps of pytorch/examples' loop (D passes %s)`, async (dPasses) => {
    const g = gpu();
    const config = { ...TEST_CONFIG, arch: 'dcgan64' as const, imageSize: 64, channels: meta.nc, latentDim: meta.nz, ngf: meta.ngf, ndf: meta.ndf, init: 'dcgan' as const, batchSize: B, dPasses };
    const trainer = await GanTrainer.create(g, null, config);
    // pytorch/examples' names and shapes, strictly: convolutions without biases, z seen as [N, nz, 1, 1].
    expect(trainer.G.namedParamSpecs().slice(0, 3)).toEqual([
      { name: 'main.0.weight', shape: [meta.nz, 8 * meta.ngf, 4, 4] },
      { name: 'main.1.weight', shape: [8 * meta.ngf] },
      { name: 'main.1.bias', shape: [8 * meta.ngf] },
    ]);
    expect(trainer.D.namedParamSpecs().at(-1)).toEqual({ name: 'main.11.weight', shape: [1, 8 * meta.ndf, 4, 4] });
    for (const [prefix, model] of [['g', trainer.G], ['d', trainer.D]] as const) {
      for (const spec of model.namedParamSpecs()) expect(ref(`${prefix}.${spec.name}`).length, spec.name).toBe(spec.shape.reduce((a, b) => a * b, 1));
      for (const [name, spec] of Object.entries(meta.init[prefix])) g.write(model.params.view('param', name), hashTensor(spec));
    }
    for (let step = 0; step < meta.steps; step++) {
      const real = hashTensor({ shape: [B, meta.nc, 64, 64], salt: meta.real_salt + step, scale: 1, offset: 0 });
      const plan = await trainer.stepWith(real, ref(`z${step}`), B);
      const s = await trainer.stats(plan);
      expect(compareClose([s.dLoss], ref(`d_loss${step}`), { rtol: 1e-4, floor: 0 }), `errD step ${step}`).toBeNull();
      expect(compareClose([s.gLoss], ref(`g_loss${step}`), { rtol: 1e-4, floor: 0 }), `errG step ${step}`).toBeNull();
    }
    expect(await trainer.firstNonFiniteStep()).toBeNull();
    await expectStateMatches(g, trainer, ref, meta.steps, `${backend} dcgan64`);
  });
});
