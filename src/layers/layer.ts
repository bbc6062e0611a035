/**
 * The layer contract. Shapes are static, so a layer's forward and backward run once, at plan
 * build time: they allocate their outputs, compile kernels and append dispatches to the plan.
 * Replaying the plan is then only encoding. No math happens on the CPU.
 */
import type { Tensor } from '../gpu/tensor.js';
import { numel } from '../gpu/tensor.js';
import type { ParameterArena, StateArena } from './arena.js';
import { normalFloat, unitFloat, type PhiloxStream } from '../random/philox.js';
import type { FusedActivation } from '../shaders/activation.js';
import type { ConvPath, PlanBuilder } from './plan.js';

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
  /** What this backward does for the layer before (its `grants`, asked by Sequential): see DyFeed. */
  feedsBefore?: DyFeed;
}

/** How a forward runs. */
export interface ForwardOptions {
  training: boolean;
  /** The activation after it, run in its kernels: only where fusesActivation says so (Sequential decides). */
  act?: FusedActivation;
  /** The batch as that many batches of equal size, each with its own statistics (BatchNorm; D's real and fake halves). */
  groups?: number;
}

/**
 * Where a layer finds its tensors, by full state_dict name: the model's arenas, or what a wrapper
 * puts in their place (a weight it computes before the layer's forward, and that weight's gradient).
 */
export interface TensorSource {
  param(name: string): Tensor;
  grad(name: string): Tensor;
  state(name: string): Tensor;
}

/** The arenas' views as a TensorSource. */
export function arenaSource(params: ParameterArena, state: StateArena): TensorSource {
  return { param: (n) => params.view('param', n), grad: (n) => params.view('grad', n), state: (n) => state.view('state', n) };
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
  #prefix = '';
  /** Whether Sequential gives it an index (false: a view outside the PyTorch module's Sequential). */
  numbered = true;
  private source?: TensorSource;

  /** `model.3.` etc., set by the layer that holds it, so tensor names equal PyTorch state_dict keys; passed down to children. */
  get prefix(): string {
    return this.#prefix;
  }

  set prefix(p: string) {
    this.#prefix = p;
    for (const [name, child] of this.children()) child.prefix = `${p}${name}.`;
  }

  /** The layers this one holds, by their attribute names in the PyTorch module ('0', 'conv'): none for a leaf. */
  children(): ReadonlyArray<readonly [string, Layer]> {
    return [];
  }

  /** This layer and every layer inside it, depth first: each tensor of a model is declared by one of them. */
  *walk(): Generator<Layer> {
    yield this;
    for (const [, child] of this.children()) yield* child.walk();
  }

  /** Every parameter in and under this layer, by full state_dict name (prefix included). */
  namedParamSpecs(): TensorSpec[] {
    return [...this.walk()].flatMap((l) => l.paramSpecs().map((s) => ({ ...s, name: l.prefix + s.name })));
  }

  /** Every state tensor in and under this layer, by full state_dict name. */
  namedStateSpecs(): TensorSpec[] {
    return [...this.walk()].flatMap((l) => l.stateSpecs().map((s) => ({ ...s, name: l.prefix + s.name })));
  }

  abstract readonly kind: string;

  /** Where this layer runs an activation after it (see ActivationFusion): none by default. */
  readonly fusesActivation: ActivationFusion = 'none';

  /** A view with no dispatch and its input's shape (Identity): a layer and the activation after it fuse across it. */
  readonly passesThrough: boolean = false;

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

  /** Where this layer and its children find their tensors (a model binds its arenas; a wrapper may bind its own). */
  bind(source: TensorSource): void {
    this.source = source;
    for (const [, child] of this.children()) child.bind(source);
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

  /** Appends the forward dispatches; what it returns is what its backward is given. */
  abstract forward(plan: PlanBuilder, x: Tensor, o: ForwardOptions): Promise<S>;

  /** What this layer's backward would take from the layer after it (see DyFeed): by default nothing. */
  dyFeed(_plan: PlanBuilder, _saved: S, _o: BackwardOptions): DyFeed {
    return {};
  }

  /** What of `want` (the layer before's dyFeed) this backward does, where feedsLayerBefore: by default nothing. */
  grants(_plan: PlanBuilder, _saved: S, _want: DyFeed): DyFeed {
    return {};
  }

  /** Appends the backward dispatches; returns dx when asked for (o.needDx). */
  abstract backward(plan: PlanBuilder, saved: S, dy: Tensor, o: BackwardOptions): Promise<Tensor | null>;

  protected param(name: string): Tensor {
    return this.bound().param(this.prefix + name);
  }

  protected grad(name: string): Tensor {
    return this.bound().grad(this.prefix + name);
  }

  /** A state tensor (PyTorch's buffers: BatchNorm's running statistics). */
  protected buffer(name: string): Tensor {
    return this.bound().state(this.prefix + name);
  }

  private bound(): TensorSource {
    if (!this.source) throw new Error(`${this.kind} ${this.prefix}: not bound to its tensors (allocate the model first)`);
    return this.source;
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
