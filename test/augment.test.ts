/**
 * Differentiable augmentation (src/shaders/augment.ts) against DiffAugment's own PyTorch
 * functions fed the same draws (test/fixtures/augment.safetensors, scripts/fixtures/augment_fixture.py):
 * the augmented images and the gradient through them, for each policy, at a colour 16x16 and a
 * grey 28x28 shape, with the extreme shifts and cutouts among the draws. Tolerance with color:
 * 1e-5 relative to each value's size plus 0.03 of the tensor's scale, about 4 float32 ulps of that
 * scale: each value is a difference of terms of the scale's size (x + b - mean, then + mean) and
 * the means are summed in other orders (measured worst 2.4e-7 at scale 3.1); translation and
 * cutout alone move and zero values, exactly.
 */
import { describe, expect, it } from 'vitest';
import { augment, augmentBackward } from '../src/layers/ops.js';
import { PlanBuilder } from '../src/layers/plan.js';
import { AUGMENTS, type Augment } from '../src/shaders/augment.js';
import { compareClose } from './helpers/compare.js';
import { loadFixture } from './helpers/fixtures.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';
import { GanTrainer, type TrainConfig } from '../src/train/trainer.js';
import { TEST_CONFIG } from './helpers/config.js';

const fixture = loadFixture('augment');
const SHAPES = { rgb16: [6, 3, 16, 16], grey28: [6, 1, 28, 28] } as const;
const POLICIES = fixture.metadata.policies!.split('|');

describe.each(TEST_BACKENDS)('differentiable augmentation on %s', (backend) => {
  const gpu = useGpu(backend);
  for (const [name, shape] of Object.entries(SHAPES)) {
    for (const policy of POLICIES) {
      it(`${policy} at ${shape.join('x')}: images and gradient as DiffAugment's PyTorch code gives them`, async () => {
        const g = gpu();
        const parts = policy.split(',') as Augment[];
        expect(parts.every((p) => AUGMENTS.includes(p))).toBe(true);
        const x = g.tensor('x', shape, 'f32', fixture.values(`${name}.x`) as Float32Array);
        const dy = g.tensor('dy', shape, 'f32', fixture.values(`${name}.dy`) as Float32Array);
        const bits = fixture.values(`${name}.draws`) as Int32Array;
        const draws = g.tensor('draws', [bits.length], 'u32', new Uint32Array(bits.buffer, bits.byteOffset, bits.length));
        const plan = new PlanBuilder(g);
        const y = await augment(plan, parts, x, draws, 0, 'y');
        const dx = await augmentBackward(plan, parts, dy, draws, 0, 'dx');
        g.run(plan.dispatches);
        const exact = !parts.includes('color');
        const tol = exact ? { rtol: 0, floor: 0 } : { rtol: 1e-5, floor: 0.03 };
        expect(compareClose((await g.read(y)) as Float32Array, fixture.values(`${name}.${policy}.y`) as Float32Array, tol), 'y').toBeNull();
        expect(compareClose((await g.read(dx)) as Float32Array, fixture.values(`${name}.${policy}.dx`) as Float32Array, tol), 'dx').toBeNull();
      });
    }
  }

  it('refuses draws too few for the images', async () => {
    const g = gpu();
    const plan = new PlanBuilder(g);
    await expect(augment(plan, ['cutout'], g.tensor('x', [4, 1, 8, 8]), g.tensor('draws', [16], 'u32'), 1, 'aug')).rejects.toThrow('aug: 4 images from row 1 need 40 draws, found 16');
  });
});

describe('differentiable augmentation in the training step (gles)', () => {
  const gpu = useGpu('gles');
  const B = 8;
  const real = Float32Array.from({ length: B * 784 }, (_, i) => Math.sin(i * 0.37));
  const z = Float32Array.from({ length: B * 100 }, (_, i) => Math.cos(i * 0.71));
  const firstLosses = async (config: Partial<TrainConfig>) => {
    const trainer = await GanTrainer.create(gpu(), null, { ...TEST_CONFIG, batchSize: B, ...config });
    return trainer.stats(await trainer.stepWith(real, z, B));
  };

  it("D's real and fake rows get the same draws merged or separate (the first D loss bit-identical), and the augmentation changes what D sees", async () => {
    const merged = await firstLosses({ diffaug: ['color', 'translation', 'cutout'], dPasses: 'merged' });
    const separate = await firstLosses({ diffaug: ['color', 'translation', 'cutout'], dPasses: 'separate' });
    const plain = await firstLosses({ dPasses: 'merged' });
    expect(separate.dLoss).toBe(merged.dLoss);
    expect([separate.dReal, separate.dFake]).toEqual([merged.dReal, merged.dFake]);
    expect(merged.dLoss).not.toBe(plain.dLoss);
    expect(Number.isFinite(merged.gLoss)).toBe(true);
  });
});
