/**
 * The activation arena (src/layers/activation-arena.ts): tensors whose lifetimes do not overlap
 * share slots, so a model's forward + backward must give bit-identical outputs, gradients and
 * BN statistics with and without it (the same kernels run on the same values; only the buffers
 * differ), in less memory; a smaller batch's plan must fit in the slots the larger one sized.
 */
import { describe, expect, it } from 'vitest';
import { discriminator, generator } from '../src/model/models.js';
import type { Gpu } from '../src/gpu/gpu.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { ActivationArena, type TensorAllocator } from '../src/layers/activation-arena.js';
import { PlanBuilder } from '../src/layers/plan.js';
import type { Sequential } from '../src/layers/sequential.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';
import { hashTensor } from './helpers/hashdata.js';

async function run(gpu: Gpu, model: Sequential, input: number[], output: number[], arena: ActivationArena | null) {
  gpu.write(model.params.all('param'), hashTensor({ shape: [model.params.all('param').size], salt: 3, scale: 0.2, offset: 0 }));
  gpu.write(model.state.all('state'), hashTensor({ shape: [model.state.all('state').size], salt: 4, scale: 0.5, offset: 0 }).map(Math.abs));
  const x = gpu.tensor('x', input, 'f32', hashTensor({ shape: input, salt: 1, scale: 1, offset: 0 }));
  const dy = gpu.tensor('dy', output, 'f32', hashTensor({ shape: output, salt: 2, scale: 1, offset: 0 }));
  // Explicit convolutions, the path the memory ratios below were measured on; they compile in
  // seconds with a cold shader cache. The trainer's arena with implicit convolutions is what
  // the step, run-loop and CLI tests run.
  const build = async (alloc?: TensorAllocator) => {
    const plan = new PlanBuilder(gpu, { alloc, conv: 'explicit' });
    const saved = await model.forward(plan, x, { training: true });
    const { y } = saved;
    const dx = (await model.backward(plan, saved, dy, { needDx: true, accumulate: false, paramGrads: true })) as Tensor;
    return { dispatches: plan.dispatches, y, dx };
  };
  const before = gpu.allocatedBytes;
  const p = arena ? await arena.build(build, (b) => ({ dispatches: b.dispatches, liveOut: [b.y, b.dx] })) : await build();
  const bytes = gpu.allocatedBytes - before;
  gpu.run(p.dispatches);
  const read = async (t: Tensor) => Array.from((await gpu.read(t)) as Float32Array);
  return { bytes, y: await read(p.y), dx: await read(p.dx), grads: await read(model.params.all('grad')), state: await read(model.state.all('state')) };
}

// Where tensors live is the arena's whole effect and no adapter's numerics enter it, so one
// adapter covers it: gles (the faster compiler) when listed.
describe.each([TEST_BACKENDS.includes('gles') ? 'gles' : TEST_BACKENDS[0]!])('activation arena on %s', (backend) => {
  const gpu = useGpu(backend);
  const models: Array<[string, () => Sequential, (n: number) => number[], (n: number) => number[]]> = [
    ['generator', () => generator(), (n) => [n, 100], (n) => [n, 1, 28, 28]],
    ['discriminator', () => discriminator(), (n) => [n, 1, 28, 28], (n) => [n, 1]],
  ];
  for (const [name, make, input, output] of models) {
    it(`${name}: bit-identical with and without the arena, in less memory; the smaller batch's plan in the same slots`, async () => {
      const g = gpu();
      const model = make().allocate(g);
      const arena = new ActivationArena(g, 'test activations');
      for (const n of [6, 3]) {
        const plain = await run(g, model, input(n), output(n), null);
        const slotsBefore = arena.bytes;
        const pooled = await run(g, model, input(n), output(n), arena);
        expect(pooled.y).toEqual(plain.y);
        expect(pooled.dx).toEqual(plain.dx);
        expect(pooled.grads).toEqual(plain.grads);
        expect(pooled.state).toEqual(plain.state);
        expect(plain.grads.some((v) => v !== 0)).toBe(true);
        if (n === 6) {
          // One model's forward keeps every activation for its backward; the gradients and col
          // buffers are what share slots. Measured 0.55 (G) and 0.48 (D) of the buffers the plan
          // allocates without the arena (a whole training step, where D's passes share too:
          // 0.35 at batch 64).
          expect(pooled.bytes, `${pooled.bytes} B pooled vs ${plain.bytes} B plain`).toBeLessThan(0.7 * plain.bytes);
        } else {
          expect(arena.bytes, 'the batch-3 plan needed new slots').toBe(slotsBefore);
        }
      }
      arena.destroy();
    });
  }

  it('names the tensor when a plan allocates differently on its rebuild', async () => {
    const g = gpu();
    const arena = new ActivationArena(g, 'test activations');
    let builds = 0;
    const build = async (alloc: TensorAllocator) => {
      const t = alloc('model.3.y', [builds++ === 0 ? 4 : 5]);
      return { dispatches: [], t };
    };
    await expect(arena.build(build, () => ({ dispatches: [], liveOut: [] }))).rejects.toThrow(
      'test activations: the plan allocated differently when rebuilt: tensor 0 is "model.3.y" (20 B), was "model.3.y" (16 B)',
    );
    arena.destroy();
  });
});
