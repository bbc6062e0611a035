/**
 * Whole-step parity of pytorch/examples' 64x64 dcgan (--arch dcgan) with PyTorch at a small
 * width (test/fixtures/dcgan64.safetensors, scripts/fixtures/dcgan64_fixture.py: ngf = ndf = 8,
 * 3 channels, batch 4), and of the family's 128-pixel member (dcgan128.safetensors, ngf = ndf = 4): the same initial weights, real batches and z, 3 steps of its loop through
 * the StepPlan the CLI trains with; losses, every parameter, BN running stats and Adam moments
 * at test/step.test.ts's tolerances (test/helpers/step-parity.ts states and justifies them; the
 * model has no biases, so none of its zero-gradient allowances apply).
 */
import { describe, expect, it } from 'vitest';
import { GanTrainer } from '../src/train/trainer.js';
import { QUICK_ROUTE, TEST_CONFIG } from './helpers/config.js';
import type { DPasses } from '../src/model/limits.js';
import { compareClose } from './helpers/compare.js';
import { loadFixture } from './helpers/fixtures.js';
import { useGpu } from './helpers/gpu.js';
import { hashTensor, type HashSpec } from './helpers/hashdata.js';
import { expectStateMatches } from './helpers/step-parity.js';

interface Meta {
  batch: number;
  steps: number;
  nz: number;
  ngf: number;
  ndf: number;
  nc: number;
  /** Absent in the 64-pixel fixture, made before the family grew. */
  size?: number;
  real_salt: number;
  init: Record<'g' | 'd', Record<string, HashSpec>>;
}

/** Each fixture: pytorch/examples' 64x64 model, and the family's 128-pixel member. */
const FIXTURES = ['dcgan64', 'dcgan128'].map((name) => {
  const fixture = loadFixture(name);
  const meta = JSON.parse(fixture.metadata.dcgan64!) as Meta;
  return { name, meta, size: meta.size ?? 64, ref: (key: string) => fixture.values(key) as Float32Array };
});

describe.each(['gles'] as const)('dcgan training step parity with PyTorch on %s', (backend) => {
  const gpu = useGpu(backend);
  // D's separate passes run on the quick route: their subject is the family's step, and the
  // default route's accumulating weight forms at the reference's shapes are step.test's (on gles
  // their compile took 35 of this case's 40 s).
  const cases: Array<[string, DPasses, 'default' | 'quick']> = [['dcgan64', 'merged', 'default'], ['dcgan64', 'separate', 'quick'], ['dcgan128', 'merged', 'default']];

  it.each(cases)(`%s matches 3 steps of pytorch/examples' loop (D passes %s, %s route)`, async (name, dPasses, route) => {
    const { meta, size, ref } = FIXTURES.find((f) => f.name === name)!;
    const B = meta.batch;
    const g = gpu();
    const config = { ...TEST_CONFIG, arch: 'dcgan' as const, imageSize: size, channels: meta.nc, latentDim: meta.nz, ngf: meta.ngf, ndf: meta.ndf, init: 'dcgan' as const, batchSize: B, dPasses, ...(route === 'quick' ? QUICK_ROUTE : {}) };
    const trainer = await GanTrainer.create(g, null, config);
    // pytorch/examples' names and shapes, strictly: convolutions without biases, z seen as [N, nz, 1, 1].
    // One stride-2 block (3 indices) more per doubling, widths size / 8 times the base at 4x4.
    const [wide, last] = [size / 8, 3 * Math.log2(size) - 7];
    expect(trainer.G.namedParamSpecs().slice(0, 3)).toEqual([
      { name: 'main.0.weight', shape: [meta.nz, wide * meta.ngf, 4, 4] },
      { name: 'main.1.weight', shape: [wide * meta.ngf] },
      { name: 'main.1.bias', shape: [wide * meta.ngf] },
    ]);
    expect(trainer.G.namedParamSpecs().at(-1)).toEqual({ name: `main.${last + 1}.weight`, shape: [meta.ngf, meta.nc, 4, 4] });
    expect(trainer.D.namedParamSpecs().at(-1)).toEqual({ name: `main.${last}.weight`, shape: [1, wide * meta.ndf, 4, 4] });
    for (const [prefix, model] of [['g', trainer.G], ['d', trainer.D]] as const) {
      for (const spec of model.namedParamSpecs()) expect(ref(`${prefix}.${spec.name}`).length, spec.name).toBe(spec.shape.reduce((a, b) => a * b, 1));
      for (const [name, spec] of Object.entries(meta.init[prefix])) g.write(model.params.view('param', name), hashTensor(spec));
    }
    for (let step = 0; step < meta.steps; step++) {
      const real = hashTensor({ shape: [B, meta.nc, size, size], salt: meta.real_salt + step, scale: 1, offset: 0 });
      const plan = await trainer.stepWith(real, ref(`z${step}`), B);
      const s = await trainer.stats(plan);
      expect(compareClose([s.dLoss], ref(`d_loss${step}`), { rtol: 1e-4, floor: 0 }), `errD step ${step}`).toBeNull();
      expect(compareClose([s.gLoss], ref(`g_loss${step}`), { rtol: 1e-4, floor: 0 }), `errG step ${step}`).toBeNull();
    }
    expect(await trainer.firstNonFiniteStep()).toBeNull();
    await expectStateMatches(g, trainer, ref, meta.steps, `${backend} ${name}`);
  }, 300_000); // the default route compiles dcgan64's blocks: 84 s on an idle 2-core EPYC, 146 s with a training beside it
});
