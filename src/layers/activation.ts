/** ReLU, LeakyReLU, Tanh, Sigmoid: pointwise, backward from the saved output. */
import type { Tensor } from '../gpu/tensor.js';
import { grid1d } from '../shaders/common.js';
import { ACTIVATION_WG, activationBackwardKernel, activationForwardKernel, type Activation } from '../shaders/activation.js';
import { Layer, planTensor, type BackwardOptions, type PlanBuilder, type Saved } from './layer.js';

export class Pointwise extends Layer {
  constructor(
    readonly kind: string,
    readonly op: Activation,
    readonly slope = 0.01,
  ) {
    super();
  }

  outputShape(input: readonly number[]): number[] {
    return [...input];
  }

  private async dispatch(plan: PlanBuilder, kernel: ReturnType<typeof activationForwardKernel>, bindings: Tensor[], n: number) {
    const params = plan.gpu.uniform(`${this.prefix}${this.op} params`, new Uint32Array([n, 0, 0, 0]));
    const grid = grid1d(n, ACTIVATION_WG, plan.gpu.limits.maxComputeWorkgroupsPerDimension);
    plan.dispatches.push(await plan.gpu.prepare(kernel, [params, ...bindings], grid));
  }

  async forward(plan: PlanBuilder, x: Tensor): Promise<Saved> {
    const y = planTensor(plan, `${this.prefix}y`, x.shape);
    await this.dispatch(plan, activationForwardKernel(this.op, this.slope), [x, y], x.size);
    return { x, y };
  }

  async backward(plan: PlanBuilder, { x, y }: Saved, dy: Tensor, o: BackwardOptions): Promise<Tensor | null> {
    if (!o.needDx) return null;
    const dx = planTensor(plan, `${this.prefix}dx`, x.shape);
    await this.dispatch(plan, activationBackwardKernel(this.op, this.slope), [y, dy, dx], x.size);
    return dx;
  }
}

export const ReLU = () => new Pointwise('ReLU', 'relu');
export const LeakyReLU = (slope = 0.01) => new Pointwise('LeakyReLU', 'leaky_relu', slope);
export const Tanh = () => new Pointwise('Tanh', 'tanh');
export const Sigmoid = () => new Pointwise('Sigmoid', 'sigmoid');
