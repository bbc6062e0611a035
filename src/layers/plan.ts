/**
 * A plan being built: the dispatches of one pass or step in order, the tensors they use, and the
 * choices that shape them. Layers, losses and the step add work only through `add` and make their
 * tensors only through `tensor`, so an arena (ActivationArena) or a profiler sees all of it. A
 * tensor the host writes or reads between steps (inputs, loss statistics) is made with
 * `gpu.tensor` instead: it must outlive the pass, so it never shares an arena slot.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { channelForm, channelStrategy, type ChannelForm, type ChannelStrategy } from '../shaders/reduce.js';
import type { MatmulTuner } from './matmul-tuner.js';
import type { TensorAllocator } from './activation-arena.js';

export const CONV_PATHS = ['auto', 'implicit', 'explicit'] as const;
export type ConvPath = (typeof CONV_PATHS)[number];

/** What a plan chooses; every field has an adapter default (conv-route.ts, the matmul table). */
export interface PlanChoices {
  /** Matmul variant for heavy ops: a name, or `auto` for the fastest that supports the shape. */
  matmul?: string;
  /** Picks `auto` variants per shape (timed, cached); without one, the fixed table. */
  tuner?: MatmulTuner;
  /**
   * How convolutions run: `implicit` GEMMs that read and write NCHW tensors directly
   * (src/shaders/conv-gemm.ts), `explicit` im2col/col2im + matmul (src/shaders/conv.ts), or
   * `auto` (default): implicit except for layers with fewer than 4 channels on a side (see
   * conv-route.ts, layerPath).
   */
  conv?: ConvPath;
  /** The implicit conv GEMMs' register block (`conv_16x8`); by default the tuner's or the fixed choice. */
  convBlock?: string;
  /** How per-channel kernels (BatchNorm, bias sums) own a channel; by default the adapter's rule (channelStrategy). */
  channels?: ChannelStrategy;
  /** Fuse each BatchNorm with the activation after it in training (default true; src/layers/sequential.ts). */
  fuse?: boolean;
  /** Where the plan's own tensors go (an ActivationArena's slots); without one, a buffer each. */
  alloc?: TensorAllocator;
}

/**
 * The user's choice of kernels for a plan (`--conv`, `--matmul`), passed to whatever builds one:
 * the trainer, the evaluator's classifier and the sampler it scores. `auto` or absent: the adapter's rule.
 */
export type KernelRoute = Pick<PlanChoices, 'conv' | 'matmul'>;

/** The choices are the builder's own fields (declaration merging: each is declared once, above). */
export interface PlanBuilder extends PlanChoices {}

export class PlanBuilder {
  readonly dispatches: Dispatch[] = [];

  constructor(
    readonly gpu: Gpu,
    choices: PlanChoices = {},
  ) {
    Object.assign(this, choices);
  }

  /** Appends dispatches, in order: the one way work joins a plan. */
  add(...dispatches: readonly Dispatch[]): void {
    this.dispatches.push(...dispatches);
  }

  /** A tensor the plan owns (activation, gradient, scratch): from `alloc`, else a buffer of its own. */
  tensor(label: string, shape: readonly number[]): Tensor {
    return this.alloc ? this.alloc(label, shape) : this.gpu.tensor(label, shape);
  }

  /** The form of this plan's per-channel kernels over N samples of [C, HW] in a tensor of `size` values (see channelForm). */
  channelForm({ N, C, HW, size }: { N: number; C: number; HW: number; size: number }, kernel: 'batchnorm' | 'sum'): ChannelForm {
    return channelForm(this.channels ?? channelStrategy(N * HW, this.gpu.isSoftware), { C, HW, size }, kernel, this.gpu);
  }
}
