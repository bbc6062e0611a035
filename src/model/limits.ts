/**
 * How large a batch an adapter can hold, known before anything is allocated: every buffer of a
 * plan is bound whole to one storage binding, so the largest one (linear in the batch: an
 * activation with implicit-GEMM convolutions, an im2col/col buffer with explicit ones) must fit
 * maxStorageBufferBindingSize (and maxBufferSize).
 */
import type { Gpu } from '../gpu/gpu.js';
import type { ConvPath } from '../layers/plan.js';
import type { Sequential } from '../layers/sequential.js';
import { discriminator, generator, type ModelSpec } from './models.js';

/** Bytes per image of the largest buffer a plan allocates, and the layer that allocates it. */
export interface BatchNeed {
  bytesPerImage: number;
  layer: string;
}

/** D's real and fake passes as one pass over both (merged) or as two (separate): src/train/step.ts. */
export const D_PASSES = ['merged', 'separate'] as const;
export type DPasses = (typeof D_PASSES)[number];

/**
 * A training step of the pair `spec` describes: G forward and backward from z, D forward and
 * backward on its images, two of them per batch image when D's real and fake passes are merged
 * (src/train/step.ts).
 */
export function trainingNeed(spec: Partial<ModelSpec> = {}, conv: ConvPath = 'auto', dPasses: DPasses = 'merged'): BatchNeed {
  const D = discriminator(spec);
  return worst([
    ...samplingParts(generator(spec), conv),
    ['discriminator', D.largestBuffer([dPasses === 'merged' ? 2 : 1, ...D.inputShape], conv)],
  ]);
}

/**
 * How D's real and fake passes run at this batch: as asked, or with `auto` merged when the
 * merged pass's buffers fit the adapter's binding limit and separate (half the largest buffer)
 * beyond it, so merging never lowers the largest batch a step can train.
 */
export function dPassesFor(gpu: Gpu, batch: number, spec: Partial<ModelSpec>, conv: ConvPath, wanted: DPasses | 'auto'): DPasses {
  if (wanted !== 'auto') return wanted;
  return batch <= largestBatch(gpu, trainingNeed(spec, conv, 'merged')) ? 'merged' : 'separate';
}

/** Eval-mode generation: G forward only. */
export function samplingNeed(G: Sequential, conv: ConvPath = 'auto'): BatchNeed {
  return worst(samplingParts(G, conv));
}

function samplingParts(G: Sequential, conv: ConvPath): Array<[string, { floats: number; layer: string }]> {
  return [['generator', G.largestBuffer([1, ...G.inputShape], conv)]];
}

function worst(parts: Array<[string, { floats: number; layer: string }]>): BatchNeed {
  const [model, b] = parts.reduce((a, c) => (c[1].floats > a[1].floats ? c : a));
  return { bytesPerImage: 4 * b.floats, layer: `${model} ${b.layer}` };
}

/** The largest batch whose every buffer fits one binding on this adapter. */
export function largestBatch(gpu: Gpu, need: BatchNeed): number {
  return Math.floor(gpu.bindingLimit / need.bytesPerImage);
}

/** Throws, naming the limit, the layer and the largest batch that fits, when `batch` does not fit. */
export function checkBatch(gpu: Gpu, batch: number, need: BatchNeed, what: string): void {
  const max = largestBatch(gpu, need);
  if (batch <= max) return;
  const binding = gpu.limits.maxStorageBufferBindingSize <= gpu.limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  const limit = gpu.bindingLimit;
  throw new Error(
    `${what} ${batch} needs a ${batch * need.bytesPerImage}-byte buffer (${need.layer}), more than this adapter's ${binding} of ${limit} bytes; the largest that fits on this adapter is ${max}`,
  );
}
