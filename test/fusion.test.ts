/**
 * Activation fusion (src/layers/sequential.ts): the fused kernels compute the same float32
 * operations as the layer followed by the activation kernel, so the models' outputs and BN
 * statistics must be bit-identical with and without fusion and the gradients equal within a few
 * ulps. Dispatches saved per pass: two per BN/activation pair (forward and backward), one per
 * GEMM/activation pair (the forward: Conv2d+LeakyReLU, Linear+Sigmoid, ConvTranspose2d+Tanh); and
 * the backward work a BatchNorm does for the layer before it (DyFeed: its bias gradient, dy
 * batch-innermost), which test/batchnorm-feed.test.ts checks bit for bit.
 * PyTorch parity of the fused path is the step test's (test/step.test.ts runs the trainer, which fuses).
 */
import { describe, expect, it } from 'vitest';
import { discriminator, generator } from '../src/model/models.js';
import type { Gpu } from '../src/gpu/gpu.js';
import { type ConvPath, PlanBuilder } from '../src/layers/plan.js';
import type { Sequential } from '../src/layers/sequential.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';
import { hashTensor } from './helpers/hashdata.js';

async function run(gpu: Gpu, model: Sequential, input: number[], fuse: boolean, conv: ConvPath) {
  const plan = new PlanBuilder(gpu, { fuse, conv });
  const x = gpu.tensor('x', input, 'f32', hashTensor({ shape: input, salt: 1, scale: 1, offset: 0 }));
  const saved = await model.forward(plan, x, { training: true });
  const { y } = saved;
  const dy = gpu.tensor('dy', [...y.shape], 'f32', hashTensor({ shape: [...y.shape], salt: 2, scale: 1, offset: 0 }));
  const dx = await model.backward(plan, saved, dy, { needDx: true, accumulate: false, paramGrads: true });
  gpu.run(plan.dispatches);
  return {
    dispatches: plan.dispatches.length,
    y: Array.from((await gpu.read(y)) as Float32Array),
    dx: Array.from((await gpu.read(dx!)) as Float32Array),
    grads: Array.from((await gpu.read(model.params.all('grad'))) as Float32Array),
    state: Array.from((await gpu.read(model.state.all('state'))) as Float32Array),
  };
}

describe.each(TEST_BACKENDS)('activation fusion on %s', (backend) => {
  const gpu = useGpu(backend);
  // Dispatches fewer: per BN/activation pair 2, per GEMM/activation pair 1, per BatchNorm after a
  // layer with a bias 1 (its sum in BN's backward), and with conv auto on llvmpipe per BatchNorm
  // after a batch-innermost convolution 1 (dx written batch-innermost, no copy) where its rows
  // are not vec4s of pixels (D's 7x7; not G's 14x14: BatchNorm.grants).
  const inner = backend === 'gles' ? 1 : 0;
  const models: Array<[string, () => Sequential, number[], number, ConvPath]> = [
    ['generator (BN1d+ReLU, BN2d+ReLU, ConvTranspose2d+Tanh in col2im)', () => generator(), [8, 100], 2 * 2 + 1 + 2, 'auto'],
    ['generator, implicit convolutions (ConvTranspose2d+Tanh in the GEMM)', () => generator(), [8, 100], 2 * 2 + 1 + 2, 'implicit'],
    ['discriminator (Conv2d+LeakyReLU in the explicit GEMM, BN2d+LeakyReLU, Linear+Sigmoid)', () => discriminator(), [8, 1, 28, 28], 1 + 2 + 1 + 1 + inner, 'auto'],
    ['discriminator, implicit convolutions (Conv2d+LeakyReLU in the implicit GEMM)', () => discriminator(), [8, 1, 28, 28], 1 + 2 + 1 + 1, 'implicit'],
    ["SNGAN's discriminator, implicit convolutions (--d-norm none: Conv2d+LeakyReLU fuse across the Identity in BatchNorm's place)", () => discriminator({}, { norm: 'none' }), [8, 1, 28, 28], 1 + 1 + 1, 'implicit'],
  ];
  // The implicit kernels' epilogue is the same WGSL function as the explicit ones'; their
  // pipelines cost SwiftShader ~45 s to compile here, so they run on gles only.
  for (const [name, make, input, fewer, conv] of models.filter(([, , , , conv]) => conv !== 'implicit' || backend === 'gles')) {
    it(`${name}: forward bit-identical, backward within 4 ulps, ${fewer} dispatches fewer`, async () => {
      const g = gpu();
      const results = [];
      for (const fuse of [false, true]) {
        const model = make().allocate(g);
        g.write(model.params.all('param'), hashTensor({ shape: [model.params.all('param').size], salt: 3, scale: 0.2, offset: 0 }));
        g.write(model.state.all('state'), hashTensor({ shape: [model.state.all('state').size], salt: 4, scale: 0.5, offset: 0 }).map(Math.abs));
        results.push(await run(g, model, input, fuse, conv));
        model.params.destroy();
        model.state.destroy();
      }
      const [plain, fused] = results as [Awaited<ReturnType<typeof run>>, Awaited<ReturnType<typeof run>>];
      expect(fused.dispatches).toBe(plain.dispatches - fewer);
      expect(fused.y).toEqual(plain.y);
      expect(fused.state).toEqual(plain.state);
      // Backward: the same operations, but inside one expression the compilers may reassociate
      // dy x slope with what follows (LeakyReLU: measured 5.6e-9 on a dx of scale 3.9e-2 on
      // llvmpipe, ~1 ulp); ReLU's derivative is exactly 0 or 1. Bound: 4 float32 ulps of scale.
      for (const [what, a, b] of [['dx', fused.dx, plain.dx], ['grads', fused.grads, plain.grads]] as const) {
        const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const worst = a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i]!)), 0);
        expect(worst, `${what}: worst ${worst} of scale ${scale}`).toBeLessThanOrEqual(4 * 2 ** -23 * scale);
      }
      // Something flowed: the gradients are not all zero.
      expect(plain.grads.some((v) => v !== 0)).toBe(true);
    });
  }
});
