/**
 * torch.nn.utils.spectral_norm around a Conv2d or a Linear: the layer's weight becomes
 * `weight_orig` (a parameter) and `weight_u`, `weight_v` (state), under the layer's own prefix,
 * so a checkpoint loads strictly into a PyTorch module wrapped with spectral_norm. Each forward
 * computes W = weight_orig / sigma (src/shaders/spectral-norm.ts: one power iteration per
 * training forward, as PyTorch's pre-forward hook) into a tensor of the plan, and the inner layer
 * runs on it: the wrapper binds the inner layer's `weight`, and that weight's gradient, to its
 * own tensors. Its backward turns the inner layer's dL/dW into dL/dweight_orig.
 */
import type { Tensor } from '../gpu/tensor.js';
import { spectralNormBackwardProgram, spectralNormForwardProgram } from '../shaders/spectral-norm.js';
import type { PhiloxStream } from '../random/philox.js';
import type { ConvLayer } from './conv-base.js';
import { Layer, type ActivationFusion, type BackwardOptions, type DyFeed, type ForwardOptions, type InitScheme, type Saved, type TensorSource, type TensorSpec } from './layer.js';
import type { Linear } from './linear.js';
import type { ConvPath, PlanBuilder } from './plan.js';

/** One forward's weight and what its backward needs: [sigma, u, v] as the forward used them. */
interface SpectralSaved extends Saved {
  inner: Saved;
  weight: Tensor;
  /** dL/dW, written by the inner layer's backward (zeroed by the training forward). */
  weightGrad?: Tensor;
  sigmaUV: Tensor;
}

export class SpectralNorm extends Layer<SpectralSaved> {
  readonly kind: string;
  /** The inner layer's: the activation after it runs in the inner layer's kernels. */
  override readonly fusesActivation: ActivationFusion;
  private current?: { weight: Tensor; grad?: Tensor };

  constructor(
    readonly inner: ConvLayer | Linear,
    readonly eps = 1e-12,
  ) {
    super();
    this.kind = `SpectralNorm(${inner.kind})`;
    this.fusesActivation = inner.fusesActivation;
  }

  /** The weight as PyTorch's spectral_norm views it: [h, w], dim 0 first. */
  private get matrix(): { h: number; w: number } {
    const shape = this.inner.paramSpecs().find((s) => s.name === 'weight')!.shape;
    return { h: shape[0]!, w: shape.slice(1).reduce((a, b) => a * b, 1) };
  }

  override paramSpecs(): TensorSpec[] {
    return this.inner.paramSpecs().map((s) => (s.name === 'weight' ? { ...s, name: 'weight_orig' } : s));
  }

  override stateSpecs(): TensorSpec[] {
    const { h, w } = this.matrix;
    return [...this.inner.stateSpecs(), { name: 'weight_u', shape: [h] }, { name: 'weight_v', shape: [w] }];
  }

  override initParam(name: string, n: number, scheme: InitScheme, rng: PhiloxStream): Float32Array {
    return this.inner.initParam(name === 'weight_orig' ? 'weight' : name, n, scheme, rng);
  }

  /** u and v start as unit vectors with equal entries (PyTorch draws them at random; any start not orthogonal to the top singular vectors converges). */
  override initState(name: string, n: number): Float32Array {
    if (name === 'weight_u' || name === 'weight_v') return new Float32Array(n).fill(1 / Math.sqrt(n));
    return this.inner.initState(name, n);
  }

  override bind(source: TensorSource): void {
    super.bind(source);
    const own = (n: string) => n === `${this.prefix}weight`;
    const current = () => {
      if (!this.current) throw new Error(`${this.prefix}${this.kind}: the weight is made by a forward`);
      return this.current;
    };
    this.inner.prefix = this.prefix;
    this.inner.bind({
      param: (n) => (own(n) ? current().weight : source.param(n)),
      grad: (n) => {
        if (!own(n)) return source.grad(n);
        const { grad } = current();
        if (!grad) throw new Error(`${this.prefix}${this.kind}: a weight gradient needs a training forward`);
        return grad;
      },
      state: (n) => source.state(n),
    });
  }

  outputShape(input: readonly number[]): number[] {
    return this.inner.outputShape(input);
  }

  override largestBufferFloats(input: readonly number[], conv: ConvPath = 'auto'): number {
    return this.inner.largestBufferFloats(input, conv);
  }

  async forward(plan: PlanBuilder, x: Tensor, o: ForwardOptions): Promise<SpectralSaved> {
    const { h, w } = this.matrix;
    const orig = this.param('weight_orig');
    const weight = plan.tensor(`${this.prefix}weight (spectral)`, orig.shape);
    const sigmaUV = plan.tensor(`${this.prefix}sigma, u, v`, [1 + h + w]);
    const weightGrad = o.training ? plan.tensor(`${this.prefix}dW (spectral)`, orig.shape) : undefined;
    const bindings = { w_orig: orig, u: this.buffer('weight_u'), v: this.buffer('weight_v'), saved: sigmaUV, weight, ...(weightGrad ? { grad: weightGrad } : {}) };
    plan.add(await spectralNormForwardProgram(o.training).prepare(plan.gpu, { h, w }, bindings, { h, w, eps: this.eps }));
    this.current = { weight, ...(weightGrad ? { grad: weightGrad } : {}) };
    const inner = await this.inner.forward(plan, x, o);
    return { x, y: inner.y, inner, weight, sigmaUV, ...(weightGrad ? { weightGrad } : {}) };
  }

  override dyFeed(plan: PlanBuilder, saved: SpectralSaved, o: BackwardOptions): DyFeed {
    this.current = { weight: saved.weight, ...(saved.weightGrad ? { grad: saved.weightGrad } : {}) };
    return this.inner.dyFeed(plan, saved.inner as never, o);
  }

  async backward(plan: PlanBuilder, saved: SpectralSaved, dy: Tensor, o: BackwardOptions): Promise<Tensor | null> {
    if (o.paramGrads && !saved.weightGrad) throw new Error(`${this.prefix}${this.kind}: parameter gradients need a training forward`);
    this.current = { weight: saved.weight, ...(saved.weightGrad ? { grad: saved.weightGrad } : {}) };
    const dx = await this.inner.backward(plan, saved.inner as never, dy, o);
    if (o.paramGrads) {
      const { h, w } = this.matrix;
      const bindings = { g: saved.weightGrad!, w_orig: this.param('weight_orig'), saved: saved.sigmaUV, out: this.grad('weight_orig') };
      plan.add(await spectralNormBackwardProgram(o.accumulate).prepare(plan.gpu, { h, w }, bindings, { h, w }));
    }
    return dx;
  }
}
