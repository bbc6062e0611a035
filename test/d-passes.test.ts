/**
 * D's real and fake passes as one pass over [real; fake] (src/train/step.ts, dPasses 'merged'):
 * BatchNorm keeps each half's statistics (groups) and the losses read their half, so D's
 * outputs, the losses and BN's running statistics must be bit-identical to two separate passes
 * (every output is the same sum in the same order; only the batch around it is larger). The
 * weight gradients sum both halves inside each GEMM where two passes accumulated, so they agree
 * to float32 rounding; their parity with PyTorch is the step test's (test/step.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { lossAgainst } from '../src/backprop/loss.js';
import { BCE } from '../src/shaders/loss.js';
import { discriminator } from '../src/model/models.js';
import type { Gpu } from '../src/gpu/gpu.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { PlanBuilder } from '../src/layers/plan.js';
import { copyInto } from '../src/layers/ops.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';
import { hashTensor } from './helpers/hashdata.js';

const B = 6;
const IMAGE = [1, 28, 28];

async function dStep(gpu: Gpu, merged: boolean) {
  const D = discriminator().allocate(gpu);
  gpu.write(D.params.all('param'), hashTensor({ shape: [D.params.all('param').size], salt: 3, scale: 0.2, offset: 0 }));
  gpu.write(D.state.all('state'), hashTensor({ shape: [D.state.all('state').size], salt: 4, scale: 0.5, offset: 0 }).map(Math.abs));
  const real = gpu.tensor('real', [B, ...IMAGE], 'f32', hashTensor({ shape: [B, ...IMAGE], salt: 1, scale: 1, offset: 0 }));
  const fake = gpu.tensor('fake', [B, ...IMAGE], 'f32', hashTensor({ shape: [B, ...IMAGE], salt: 2, scale: 1, offset: 0 }));
  const plan = new PlanBuilder(gpu);
  let outputs: Tensor[];
  let stats: Tensor[];
  if (merged) {
    const both = gpu.tensor('both', [2 * B, ...IMAGE]);
    await copyInto(plan, real, both, 0);
    await copyInto(plan, fake, both, real.size);
    const d = await D.forward(plan, both, { training: true, groups: 2 });
    const lr = await lossAgainst(plan, BCE, d.y, 0.9, 'real loss', { rows: { first: 0, count: B } });
    const lf = await lossAgainst(plan, BCE, d.y, 0, 'fake loss', { rows: { first: B, count: B }, grad: lr.grad });
    await D.backward(plan, d, lr.grad, { needDx: false, accumulate: false, paramGrads: true });
    outputs = [d.y];
    stats = [lr.stats, lf.stats];
  } else {
    const dr = await D.forward(plan, real, { training: true });
    const lr = await lossAgainst(plan, BCE, dr.y, 0.9, 'real loss');
    const df = await D.forward(plan, fake, { training: true });
    const lf = await lossAgainst(plan, BCE, df.y, 0, 'fake loss');
    await D.backward(plan, dr, lr.grad, { needDx: false, accumulate: false, paramGrads: true });
    await D.backward(plan, df, lf.grad, { needDx: false, accumulate: true, paramGrads: true });
    outputs = [dr.y, df.y];
    stats = [lr.stats, lf.stats];
  }
  gpu.run(plan.dispatches);
  const values = async (ts: Tensor[]) => (await Promise.all(ts.map((t) => gpu.read(t)))).flatMap((a) => Array.from(a as Float32Array));
  return {
    dispatches: plan.dispatches.length,
    y: await values(outputs),
    losses: await values(stats),
    state: await values([D.state.all('state')]),
    grads: await values([D.params.all('grad')]),
  };
}

describe.each([TEST_BACKENDS.includes('gles') ? 'gles' : TEST_BACKENDS[0]!])('D real and fake passes merged, on %s', (backend) => {
  const gpu = useGpu(backend);

  it('gives the outputs, losses and BN running statistics of two passes bit for bit, the gradients to rounding, in fewer dispatches', async () => {
    const separate = await dStep(gpu(), false);
    const merged = await dStep(gpu(), true);
    expect(merged.y).toEqual(separate.y);
    expect(merged.losses).toEqual(separate.losses);
    expect(merged.state).toEqual(separate.state);
    expect(merged.dispatches).toBeLessThan(separate.dispatches);
    // Sums over 2 x 6 samples in one order against two sums of 6 added: float32 rounding of
    // sums with cancellation, measured 5.5e-7 of the largest gradient on llvmpipe; bound 1e-5.
    const scale = separate.grads.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const worst = merged.grads.reduce((w, v, i) => Math.max(w, Math.abs(v - separate.grads[i]!)), 0);
    expect(scale).toBeGreaterThan(0);
    expect(worst, `worst ${worst} of scale ${scale}`).toBeLessThanOrEqual(1e-5 * scale);
  });
});
