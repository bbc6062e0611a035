/**
 * BatchNorm1d ([N, C]) and BatchNorm2d ([N, C, H, W]), PyTorch semantics: see
 * src/shaders/batchnorm.ts. weight = gamma, bias = beta; running_mean/running_var are state.
 * (num_batches_tracked is a host-side counter kept by the trainer.)
 */
import type { Tensor } from '../gpu/tensor.js';
import { batchNormBackwardProgram, batchNormEvalProgram, batchNormTrainProgram } from '../shaders/batchnorm.js';
import type { FusedActivation } from '../shaders/activation.js';
import type { ChannelForm } from '../shaders/reduce.js';
import { normalFloat, type PhiloxStream } from '../random/philox.js';
import { batchNormWritesBatchInner } from './conv-route.js';
import { Layer, type BackwardOptions, type DyFeed, type ForwardOptions, type InitScheme, type Saved, type TensorSpec } from './layer.js';
import type { PlanBuilder } from './plan.js';

/** What a forward leaves for its backward: whether it trained, the fused activation, and each group's statistics. */
interface BatchNormSaved extends Saved {
  training: boolean;
  act?: FusedActivation;
  /** Per statistics group: mean and 1/std per channel ([2, C]); none in eval mode. */
  groupStats: Tensor[];
}

export class BatchNorm extends Layer<BatchNormSaved> {
  readonly kind: string;
  /** In training the activation after it runs in its kernels, forward and backward. */
  override readonly fusesActivation = 'training';
  /** Its backward sums the layer before's bias gradient and writes dy in the layout it reads (grants). */
  override readonly feedsLayerBefore = true;
  constructor(
    readonly numFeatures: number,
    /** 1: input [N, C]; 2: input [N, C, H, W]. */
    readonly dims: 1 | 2,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
  ) {
    super();
    this.kind = `BatchNorm${dims}d`;
  }

  override paramSpecs(): TensorSpec[] {
    return [
      { name: 'weight', shape: [this.numFeatures] },
      { name: 'bias', shape: [this.numFeatures] },
    ];
  }

  /** weight (gamma) 1, or ~ N(1, 0.02) with the DCGAN init; bias (beta) 0. */
  override initParam(name: string, n: number, scheme: InitScheme, rng: PhiloxStream): Float32Array {
    const out = new Float32Array(n);
    if (name === 'weight') for (let i = 0; i < n; i++) out[i] = scheme === 'dcgan' ? 1 + 0.02 * normalFloat(rng) : 1;
    return out;
  }

  /** Running statistics start at mean 0, variance 1. */
  override initState(name: string, n: number): Float32Array {
    return new Float32Array(n).fill(name === 'running_var' ? 1 : 0);
  }

  override stateSpecs(): TensorSpec[] {
    return [
      { name: 'running_mean', shape: [this.numFeatures] },
      { name: 'running_var', shape: [this.numFeatures] },
    ];
  }

  outputShape(input: readonly number[]): number[] {
    const rank = this.dims === 1 ? 2 : 4;
    if (input.length !== rank || input[1] !== this.numFeatures) {
      throw new Error(
        `${this.prefix}${this.kind}: expected input [N, ${this.numFeatures}${this.dims === 2 ? ', H, W' : ''}], found [${input.join(', ')}]`,
      );
    }
    return [...input];
  }

  private sizes(x: Tensor): { N: number; C: number; HW: number } {
    this.outputShape(x.shape);
    const [N, C, H = 1, W = 1] = x.shape as number[];
    return { N: N!, C: C!, HW: H * W };
  }

  /**
   * `act`: apply this activation to the output in the same kernel (training only). `groups`:
   * training statistics per group of N / groups consecutive samples, each updating the running
   * statistics in turn, exactly as that many separate passes would (D's real and fake halves).
   */
  async forward(plan: PlanBuilder, x: Tensor, { training, act, groups = 1 }: ForwardOptions): Promise<BatchNormSaved> {
    const { N, C, HW } = this.sizes(x);
    const { gpu } = plan;
    const y = plan.tensor(`${this.prefix}y`, x.shape);
    const gamma = this.param('weight');
    const beta = this.param('bias');
    const mean = this.buffer('running_mean');
    const variance = this.buffer('running_var');
    const uniforms = (n: number, first: number) => ({ N: n, C, HW, eps: this.eps, momentum: this.momentum, first, batch: N });
    if (!training) {
      plan.add(await batchNormEvalProgram().prepare(gpu, { N, C, HW }, { x, gamma, beta, y, running_mean: mean, running_var: variance }, uniforms(N, 0)));
      return { x, y, training: false, groupStats: [] };
    }
    const n = this.groupSize(N, groups);
    if (n * HW <= 1) {
      // PyTorch raises the same: the variance of one value is undefined.
      throw new Error(`${this.prefix}${this.kind}: expected more than 1 value per channel when training, got input size [${[n, ...x.shape.slice(1)].join(', ')}]`);
    }
    const form = this.channelForm(plan, x, n);
    const groupStats: Tensor[] = [];
    for (let g = 0; g < groups; g++) {
      const saved = plan.tensor(`${this.prefix}batch stats${groups > 1 ? ` ${g}` : ''}`, [2, C]);
      groupStats.push(saved);
      plan.add(
        await batchNormTrainProgram(form, act).prepare(gpu, { N: n, C, HW }, { x, gamma, beta, y, saved, running_mean: mean, running_var: variance }, uniforms(n, g * n)),
      );
    }
    return { x, y, training: true, act, groupStats };
  }

  /**
   * What of `want` (the layer before's dyFeed) this backward does: the bias sum always; dx
   * batch-innermost where the route module says this form writes it so (batchNormWritesBatchInner).
   */
  override grants(plan: PlanBuilder, { x, groupStats }: BatchNormSaved, want: DyFeed): DyFeed {
    const { batchInner, ...rest } = want;
    return batchInner && batchNormWritesBatchInner(this.channelForm(plan, x, this.groupSize(this.sizes(x).N, groupStats.length))) ? want : rest;
  }

  /** The per-channel form of the training kernels (forward and backward alike), over one statistics group's `n` samples. */
  private channelForm(plan: PlanBuilder, x: Tensor, n: number): ChannelForm {
    const { C, HW } = this.sizes(x);
    return plan.channelForm({ N: n, C, HW, size: x.size }, 'batchnorm');
  }

  /**
   * `o.feedsBefore`: what the layer before takes from this backward (Sequential asks it): its bias
   * gradient from the sums of dx, and dx written batch-innermost ([C, H, W, N]) instead of NCHW.
   */
  async backward(plan: PlanBuilder, saved: BatchNormSaved, dy: Tensor, o: BackwardOptions): Promise<Tensor | null> {
    const feed = o.feedsBefore ?? {};
    if (!saved.training) throw new Error(`${this.prefix}${this.kind}: backward needs a training-mode forward`);
    const { x } = saved;
    const { N, C, HW } = this.sizes(x);
    const { gpu } = plan;
    if (!o.needDx && !o.paramGrads) return null;
    const n = this.groupSize(N, saved.groupStats.length);
    const batchInner = o.needDx && feed.batchInner === true;
    const dx = batchInner ? plan.tensor(`${this.prefix}dx chwn`, [C, ...x.shape.slice(2), N]) : plan.tensor(`${this.prefix}dx`, x.shape);
    const dsum = o.needDx ? feed.biasGrad : undefined;
    if (dsum && (dsum.size !== C || !o.paramGrads)) throw new Error(`${this.prefix}${this.kind}: a bias gradient before it needs ${C} values and parameter gradients, found ${dsum.size}${o.paramGrads ? '' : ' without them'}`);
    // The kernel always writes dgamma/dbeta; without parameter gradients they go to scratch.
    const dgamma = o.paramGrads ? this.grad('weight') : plan.tensor(`${this.prefix}scratch dgamma`, [C]);
    const dbeta = o.paramGrads ? this.grad('bias') : plan.tensor(`${this.prefix}scratch dbeta`, [C]);
    const form = this.channelForm(plan, x, n);
    for (const [g, stats] of saved.groupStats.entries()) {
      // Groups after the first add their gradients, as separate passes would.
      const accumulate = o.accumulate || g > 0;
      const bindings = { x, gamma: this.param('weight'), saved: stats, dy, dx, dgamma, dbeta, ...(saved.act ? { out: saved.y } : {}), ...(dsum ? { dsum } : {}) };
      const uniforms = { N: n, C, HW, eps: this.eps, momentum: this.momentum, first: g * n, batch: N };
      const program = batchNormBackwardProgram(form, { accumulate: o.paramGrads && accumulate, ...(saved.act ? { act: saved.act } : {}), dxSum: !!dsum, dxBatchInner: batchInner });
      plan.add(await program.prepare(gpu, { N: n, C, HW }, bindings, uniforms));
    }
    return o.needDx ? dx : null;
  }

  private groupSize(N: number, groups: number): number {
    if (!Number.isInteger(groups) || groups < 1 || N % groups !== 0) {
      throw new Error(`${this.prefix}${this.kind}: a batch of ${N} does not split into ${groups} groups`);
    }
    return N / groups;
  }
}

/** BatchNorm1d over [N, C]. */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, eps = 1e-5, momentum = 0.1) {
    super(numFeatures, 1, eps, momentum);
  }
}

/** BatchNorm2d over [N, C, H, W]. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, eps = 1e-5, momentum = 0.1) {
    super(numFeatures, 2, eps, momentum);
  }
}
