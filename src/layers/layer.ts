/**
 * The layer contract. Shapes are static, so a layer's forward and backward run once, at plan
 * build time: they allocate their outputs, compile kernels and append dispatches to the plan.
 * Replaying the plan is then only encoding. No math happens on the CPU.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import { numel, type Tensor } from '../gpu/tensor.js';
import type { ParameterArena, StateArena } from './arena.js';
import type { MatmulTuner } from './matmul-tuner.js';
import type { TensorAllocator } from './activation-arena.js';
import { channelForm, channelStrategy, type ChannelForm, type ChannelStrategy } from '../shaders/reduce.js';
import { normalFloat, unitFloat, type PhiloxStream } from '../random/philox.js';
import type { FusedActivation } from '../shaders/activation.js';

/** Where a layer's dispatches go, in order, and the choices that shape them. */
export interface PlanBuilder {
  gpu: Gpu;
  dispatches: Dispatch[];
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

/** The form of this plan's per-channel kernels over N samples of [C, HW] in a tensor of `size` values (see channelForm). */
export function planChannels(plan: PlanBuilder, { N, C, HW, size }: { N: number; C: number; HW: number; size: number }, kernel: 'batchnorm' | 'sum'): ChannelForm {
  return channelForm(plan.channels ?? channelStrategy(N * HW, plan.gpu.isSoftware), { C, HW, size }, kernel, plan.gpu);
}

/** A tensor the plan owns (activation, gradient, scratch): from plan.alloc, else a buffer of its own. */
export function planTensor(plan: PlanBuilder, label: string, shape: readonly number[]): Tensor {
  return plan.alloc ? plan.alloc(label, shape) : plan.gpu.tensor(label, shape);
}

export const CONV_PATHS = ['auto', 'implicit', 'explicit'] as const;
export type ConvPath = (typeof CONV_PATHS)[number];

/** A tensor a layer owns: its name in the PyTorch state_dict (after the layer's prefix). */
export interface TensorSpec {
  name: string;
  shape: number[];
}

/**
 * What a layer's forward keeps for its backward: its input and output. A layer whose backward
 * needs more extends it with its own typed fields (ConvSaved, BatchNormSaved, LinearSaved).
 */
export interface Saved {
  x: Tensor;
  y: Tensor;
  /** Set by Sequential on an activation whose backward runs in the layer before it (fusesActivation `training`). */
  fusedInto?: Tensor;
}

/**
 * Where a layer runs an activation that follows it (Sequential fuses by this): `epilogue`, in
 * its kernel's epilogue, forward only (the activation's backward still runs on its own, from the
 * fused output); `training`, in its training kernels forward and backward (BatchNorm); `none`.
 */
export type ActivationFusion = 'none' | 'epilogue' | 'training';

export interface BackwardOptions {
  /** Whether the input gradient is needed (false for a model's first layer). */
  needDx: boolean;
  /** Add parameter gradients to the arena instead of overwriting them. */
  accumulate: boolean;
  /** Skip parameter gradients entirely (G's step needs D's dx, not D's dW). */
  paramGrads: boolean;
  /** What the backward of the layer after did for this one (its `dyFeed`, granted): see DyFeed. */
  fed?: DyFeed;
}

/**
 * What a layer's backward can take ready-made from the backward of a BatchNorm after it, which
 * visits every value of dy anyway (Sequential asks, with `plan.fuse`): `biasGrad`, where the
 * sums of dy over samples and pixels go (this layer's bias gradient, added to with
 * `accumulate`); `batchInner`, dy written only as [C, H, W, N], the layout every product of this
 * layer's backward reads it in. Each is a dispatch fewer.
 */
export interface DyFeed {
  biasGrad?: Tensor;
  batchInner?: boolean;
}

export abstract class Layer<S extends Saved = Saved> {
  /** Set by Sequential: `model.3.` etc., so arena names equal PyTorch state_dict keys. */
  prefix = '';
  /** Whether Sequential gives it an index (false: a view outside the PyTorch module's Sequential). */
  numbered = true;
  protected paramArena?: ParameterArena;
  protected stateArena?: StateArena;

  abstract readonly kind: string;

  /** Where this layer runs an activation after it (see ActivationFusion): none by default. */
  readonly fusesActivation: ActivationFusion = 'none';

  /** Whether its backward also does what the layer before takes from it (DyFeed, grants): none by default. */
  readonly feedsLayerBefore: boolean = false;

  /** This layer as an activation a layer before it can run in its kernel: none but the pointwise ones. */
  get asActivation(): FusedActivation | undefined {
    return undefined;
  }

  /** Trainable tensors, e.g. weight and bias. */
  paramSpecs(): TensorSpec[] {
    return [];
  }

  /** Non-trainable state, e.g. BN running statistics. */
  stateSpecs(): TensorSpec[] {
    return [];
  }

  /**
   * Starting values of this layer's parameter `name` (n values), drawn from `rng` (a stream of
   * its own per tensor). Only layers with parameters are asked.
   */
  initParam(name: string, _n: number, _scheme: InitScheme, _rng: PhiloxStream): Float32Array {
    throw new Error(`${this.prefix}${this.kind}: no parameter "${name}" to initialise`);
  }

  /** Starting values of a state tensor (zeros unless the layer says otherwise). */
  initState(_name: string, n: number): Float32Array {
    return new Float32Array(n);
  }

  bind(params: ParameterArena, state: StateArena): void {
    this.paramArena = params;
    this.stateArena = state;
  }

  abstract outputShape(input: readonly number[]): number[];

  /**
   * Floats in the largest buffer this layer allocates (forward or backward) for `input`: what
   * the batch-size limit is computed from, before anything is allocated. Layers with scratch
   * buffers larger than their input and output (im2col) override it.
   */
  largestBufferFloats(input: readonly number[], _conv: ConvPath = 'auto'): number {
    return Math.max(numel(input), numel(this.outputShape(input)));
  }

  /**
   * Appends the forward dispatches. `act`: the activation after it, run in its kernels (only where
   * fusesActivation says so); `groups`: the batch as that many batches of equal size, for layers
   * with batch statistics (BatchNorm); other layers ignore both.
   */
  abstract forward(plan: PlanBuilder, x: Tensor, training: boolean, act?: FusedActivation, groups?: number): Promise<S>;

  /** What this layer's backward would take from the layer after it (see DyFeed): by default nothing. */
  dyFeed(_plan: PlanBuilder, _saved: S, _o: BackwardOptions): DyFeed {
    return {};
  }

  /** What of `want` (the layer before's dyFeed) this backward does, where feedsLayerBefore: by default nothing. */
  grants(_plan: PlanBuilder, _saved: S, _want: DyFeed): DyFeed {
    return {};
  }

  /** Appends the backward dispatches; returns dx when asked for. `feed`: what it does for the layer before (grants). */
  abstract backward(plan: PlanBuilder, saved: S, dy: Tensor, opts: BackwardOptions, feed?: DyFeed): Promise<Tensor | null>;

  protected param(name: string): Tensor {
    if (!this.paramArena) throw new Error(`${this.kind} ${this.prefix}: not bound to a parameter arena`);
    return this.paramArena.view('param', this.prefix + name);
  }

  protected grad(name: string): Tensor {
    if (!this.paramArena) throw new Error(`${this.kind} ${this.prefix}: not bound to a parameter arena`);
    return this.paramArena.view('grad', this.prefix + name);
  }

  protected state(name: string): Tensor {
    if (!this.stateArena) throw new Error(`${this.kind} ${this.prefix}: not bound to a state arena`);
    return this.stateArena.view('state', this.prefix + name);
  }
}

/**
 * How parameters start: `pytorch`, PyTorch's defaults; `dcgan`, the DCGAN paper's weights_init
 * (Radford et al. 2015). Both drawn from our own Philox streams: repeatable, not PyTorch's numbers.
 */
export const INIT_SCHEMES = ['pytorch', 'dcgan'] as const;
export type InitScheme = (typeof INIT_SCHEMES)[number];

/**
 * A Linear's or a convolution's weight or bias. `pytorch`: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 * for both (kaiming_uniform with a = sqrt(5), and the bias rule), fan_in = the weight's size(1)
 * times its kernel area, which for ConvTranspose2d ([Cin, Cout, k, k]) is Cout k k, as PyTorch
 * computes it. `dcgan`: weights ~ N(0, 0.02), biases 0.
 */
export function affineInit(weightShape: readonly number[], name: string, n: number, scheme: InitScheme, rng: PhiloxStream): Float32Array {
  const out = new Float32Array(n);
  if (scheme === 'dcgan') {
    if (name === 'weight') for (let i = 0; i < n; i++) out[i] = 0.02 * normalFloat(rng);
    return out;
  }
  const bound = 1 / Math.sqrt(numel(weightShape.slice(1)));
  for (let i = 0; i < n; i++) out[i] = (2 * unitFloat(rng) - 1) * bound;
  return out;
}

export function expectShape(what: string, found: readonly number[], expected: readonly number[]): void {
  if (found.length !== expected.length || found.some((d, i) => d !== expected[i])) {
    throw new Error(`${what}: expected shape [${expected.join(', ')}], found [${found.join(', ')}]`);
  }
}
