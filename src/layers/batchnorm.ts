/**
 * BatchNorm1d ([N, C]) and BatchNorm2d ([N, C, H, W]), PyTorch semantics: see
 * src/shaders/batchnorm.ts. weight = gamma, bias = beta; running_mean/running_var are state.
 * (num_batches_tracked is a host-side counter kept by the trainer.)
 */
import type { Tensor } from '../gpu/tensor.js';
import { grid1d } from '../shaders/common.js';
import {
  BN_ELEMENTWISE_WG,
  batchNormBackwardKernel,
  batchNormEvalKernel,
  batchNormParams,
  batchNormTrainKernel,
} from '../shaders/batchnorm.js';
import type { FusedActivation } from '../shaders/activation.js';
import { channelGrid, channelStrategy } from '../shaders/reduce.js';
import { Layer, planTensor, type BackwardOptions, type PlanBuilder, type Saved, type TensorSpec } from './layer.js';

/** What a training forward left for its backward: the fused activation, and each group's statistics. */
const trained = new WeakMap<Saved, { act?: FusedActivation; stats: Tensor[] }>();

export class BatchNorm extends Layer {
  readonly kind: string;
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
  async forward(plan: PlanBuilder, x: Tensor, training: boolean, act?: FusedActivation, groups = 1): Promise<Saved> {
    const { N, C, HW } = this.sizes(x);
    const { gpu } = plan;
    const y = planTensor(plan, `${this.prefix}y`, x.shape);
    const gamma = this.param('weight');
    const beta = this.param('bias');
    const mean = this.state('running_mean');
    const variance = this.state('running_var');
    if (!training) {
      const params = gpu.uniform(`${this.prefix}bn params`, new Uint32Array(batchNormParams(N, C, HW, this.eps, this.momentum)));
      plan.dispatches.push(
        await gpu.prepare(batchNormEvalKernel(), [params, x, gamma, beta, y, mean, variance], grid1d(N * C * HW, BN_ELEMENTWISE_WG, gpu.limits.maxComputeWorkgroupsPerDimension)),
      );
      return { x, y };
    }
    const n = this.groupSize(N, groups);
    if (n * HW <= 1) {
      // PyTorch raises the same: the variance of one value is undefined.
      throw new Error(`${this.prefix}${this.kind}: expected more than 1 value per channel when training, got input size [${[n, ...x.shape.slice(1)].join(', ')}]`);
    }
    const strategy = channelStrategy(n * HW);
    const stats: Tensor[] = [];
    for (let g = 0; g < groups; g++) {
      const params = gpu.uniform(`${this.prefix}bn params`, new Uint32Array(batchNormParams(n, C, HW, this.eps, this.momentum, g * n)));
      stats.push(planTensor(plan, `${this.prefix}batch stats${groups > 1 ? ` ${g}` : ''}`, [2, C]));
      plan.dispatches.push(
        await gpu.prepare(
          batchNormTrainKernel(strategy, act),
          [params, x, gamma, beta, y, stats[g]!, mean, variance],
          channelGrid(strategy, C, gpu.limits.maxComputeWorkgroupsPerDimension),
        ),
      );
    }
    const saved = { x, y, stats: stats[0]! };
    trained.set(saved, { act, stats });
    return saved;
  }

  async backward(plan: PlanBuilder, saved: Saved, dy: Tensor, o: BackwardOptions): Promise<Tensor | null> {
    const { x } = saved;
    const info = trained.get(saved);
    if (!info) throw new Error(`${this.prefix}${this.kind}: backward needs a training-mode forward`);
    const { N, C, HW } = this.sizes(x);
    const { gpu } = plan;
    if (!o.needDx && !o.paramGrads) return null;
    const n = this.groupSize(N, info.stats.length);
    const dx = planTensor(plan, `${this.prefix}dx`, x.shape);
    // The kernel always writes dgamma/dbeta; without parameter gradients they go to scratch.
    const dgamma = o.paramGrads ? this.grad('weight') : planTensor(plan, `${this.prefix}scratch dgamma`, [C]);
    const dbeta = o.paramGrads ? this.grad('bias') : planTensor(plan, `${this.prefix}scratch dbeta`, [C]);
    const strategy = channelStrategy(n * HW);
    for (const [g, stats] of info.stats.entries()) {
      const params = gpu.uniform(`${this.prefix}bn params`, new Uint32Array(batchNormParams(n, C, HW, this.eps, this.momentum, g * n)));
      // Groups after the first add their parameter gradients, as separate passes would.
      const accumulate = o.paramGrads && (o.accumulate || g > 0);
      plan.dispatches.push(
        await gpu.prepare(
          batchNormBackwardKernel(strategy, accumulate, info.act),
          [params, x, this.param('weight'), stats, dy, dx, dgamma, dbeta, ...(info.act ? [saved.y] : [])],
          channelGrid(strategy, C, gpu.limits.maxComputeWorkgroupsPerDimension),
        ),
      );
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
