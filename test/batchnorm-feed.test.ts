/**
 * What a BatchNorm's backward does for the layer before it (DyFeed, src/layers/layer.ts): the
 * sums of dx per channel into that layer's bias gradient, and dx written batch-innermost
 * ([C, H, W, N]). Both come from the same values the plain backward stores, so against it: dx
 * batch-innermost equals plain dx permuted, bit for bit; dgamma/dbeta are unchanged, bit for
 * bit; and where one invocation owns a channel the sums are bit for bit a float32 sum of plain
 * dx in the kernels' order (sample by sample, pixel by pixel, each group on its own and added
 * to what the groups before left). The analytic sum of BN's dx is 0, so what is summed is
 * rounding: the order is what can be checked, never a value. A workgroup per channel adds in a
 * tree, and llvmpipe reorders a vec4's adds: there the bound is 32 float32 ulps of the sum of
 * |dx| (a chain of at most ~8 sequential adds per invocation and 6 tree levels, each an error of
 * at most one ulp of the running magnitude), which SwiftShader's exact runs of the same WGSL back.
 * PyTorch parity of the whole backward is the step test's (test/step.test.ts trains with these).
 */
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/gpu.js';
import { BatchNorm } from '../src/layers/batchnorm.js';
import { PlanBuilder } from '../src/layers/plan.js';
import { Sequential } from '../src/layers/sequential.js';
import type { FusedActivation } from '../src/shaders/activation.js';
import { CHANNEL_STRATEGIES, type ChannelStrategy } from '../src/shaders/reduce.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';
import { hashTensor } from './helpers/hashdata.js';

interface Case {
  shape: number[];
  groups: number;
  act?: FusedActivation;
}

// Row forms: 7x7 (span4), 4x4 (vec4), [N, C] (one value per row; 4 channels per vec4 on SwiftShader).
const CASES: Case[] = [
  { shape: [8, 4, 7, 7], groups: 2, act: { op: 'leaky_relu', slope: 0.2 } },
  { shape: [8, 4, 4, 4], groups: 1, act: { op: 'relu', slope: 0 } },
  { shape: [8, 12], groups: 1 },
];

async function backward(gpu: Gpu, c: Case, channels: ChannelStrategy, feed: boolean) {
  const C = c.shape[1]!;
  const layer = new BatchNorm(C, c.shape.length === 2 ? 1 : 2);
  const model = new Sequential('bn', [layer]).allocate(gpu);
  gpu.write(model.params.view('param', 'model.0.weight'), hashTensor({ shape: [C], salt: 5, scale: 0.5, offset: 1 }));
  gpu.write(model.params.view('param', 'model.0.bias'), hashTensor({ shape: [C], salt: 6, scale: 0.5, offset: 0 }));
  const x = gpu.tensor('x', c.shape, 'f32', hashTensor({ shape: c.shape, salt: 1, scale: 2, offset: 0.3 }));
  const dy = gpu.tensor('dy', c.shape, 'f32', hashTensor({ shape: c.shape, salt: 2, scale: 1, offset: 0.1 }));
  const biasGrad = gpu.tensor('bias grad', [C], 'f32', new Float32Array(C).fill(Number.NaN));
  const plan = new PlanBuilder(gpu, { channels });
  const saved = await layer.forward(plan, x, { training: true, ...(c.act ? { act: c.act } : {}), groups: c.groups });
  const o = { needDx: true, accumulate: false, paramGrads: true };
  const dx = (await layer.backward(plan, saved, dy, { ...o, feedsBefore: feed ? { biasGrad, batchInner: true } : {} }))!;
  gpu.run(plan.dispatches);
  const out = {
    dx: (await gpu.read(dx)) as Float32Array,
    dxShape: [...dx.shape],
    grads: (await gpu.read(model.params.all('grad'))) as Float32Array,
    biasGrad: (await gpu.read(biasGrad)) as Float32Array,
  };
  model.params.destroy();
  model.state.destroy();
  return out;
}

/** Per channel: a float32 sum of dx (NCHW) sample by sample, pixel by pixel, per group, the groups added in turn. */
function kernelOrderSums(dx: Float32Array, [N, C, ...rest]: number[], groups: number): { sums: Float32Array; magnitude: Float32Array } {
  const HW = rest.reduce((a, b) => a * b, 1);
  const sums = new Float32Array(C!);
  const magnitude = new Float32Array(C!);
  const n = N! / groups;
  for (let c = 0; c < C!; c++) {
    let total = 0;
    for (let g = 0; g < groups; g++) {
      let t = 0;
      for (let s = g * n; s < (g + 1) * n; s++) {
        for (let p = 0; p < HW; p++) {
          const v = dx[(s * C! + c) * HW + p]!;
          t = Math.fround(t + v);
          magnitude[c] = magnitude[c]! + Math.abs(v);
        }
      }
      total = g === 0 ? t : Math.fround(total + t);
    }
    sums[c] = total;
  }
  return { sums, magnitude };
}

describe.each(TEST_BACKENDS)('BatchNorm backward feeding the layer before on %s', (backend) => {
  const gpu = useGpu(backend);
  for (const channels of CHANNEL_STRATEGIES) {
    for (const c of CASES) {
      it(`[${c.shape.join(', ')}], ${c.groups} group(s)${c.act ? ` + ${c.act.op}` : ''}, channels by ${channels}: dx batch-innermost and its sums`, async () => {
        const plain = await backward(gpu(), c, channels, false);
        const fed = await backward(gpu(), c, channels, true);
        const [N, C, ...rest] = c.shape as [number, number, ...number[]];
        const HW = rest.reduce((a, b) => a * b, 1);
        expect(fed.dxShape).toEqual([C, ...rest, N]);
        const permuted = new Float32Array(plain.dx.length);
        for (let n = 0; n < N; n++) for (let ch = 0; ch < C; ch++) for (let p = 0; p < HW; p++) permuted[(ch * HW + p) * N + n] = plain.dx[(n * C + ch) * HW + p]!;
        expect(fed.dx).toEqual(permuted);
        expect(fed.grads).toEqual(plain.grads);
        const { sums, magnitude } = kernelOrderSums(plain.dx, c.shape, c.groups);
        // llvmpipe reassociates the four adds of a vec4 of pixels (and not the same way in every
        // kernel: the channel-sum program differs too), so its rows of 4k pixels get the bound.
        const reassociated = backend === 'gles' && HW > 1 && HW % 4 === 0;
        if (channels === 'thread' && !reassociated) {
          expect(fed.biasGrad).toEqual(sums);
        } else {
          for (let ch = 0; ch < C; ch++) expect(Math.abs(fed.biasGrad[ch]! - sums[ch]!), `channel ${ch}`).toBeLessThanOrEqual(32 * 2 ** -23 * magnitude[ch]!);
        }
        expect(plain.grads.some((v) => v !== 0)).toBe(true);
      });
    }
  }
});
