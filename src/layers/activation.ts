/** ReLU, LeakyReLU, Tanh, Sigmoid: pointwise, backward from the saved output. */
import type { Tensor } from '../gpu/tensor.js';
import { pointwiseWidth } from '../shaders/common.js';
import { activationBackwardProgram, activationForwardProgram, type Activation, type FusedActivation } from '../shaders/activation.js';
import { Layer, type BackwardOptions, type Saved } from './layer.js';
import type { PlanBuilder } from './plan.js';

export class Pointwise extends Layer {
  constructor(
    readonly kind: string,
    readonly op: Activation,
    readonly slope = 0.01,
  ) {
    super();
  }

  /** A pointwise activation runs in the kernel of a layer before it that fuses one (Sequential). */
  override get asActivation(): FusedActivation {
    return { op: this.op, slope: this.slope };
  }

  outputShape(input: readonly number[]): number[] {
    return [...input];
  }

  async forward(plan: PlanBuilder, x: Tensor): Promise<Saved> {
    const y = plan.tensor(`${this.prefix}y`, x.shape);
    plan.add(await activationForwardProgram(this.op, this.slope, pointwiseWidth(x.size)).prepare(plan.gpu, { n: x.size }, { x, y }));
    return { x, y };
  }

  async backward(plan: PlanBuilder, { x, y }: Saved, dy: Tensor, o: BackwardOptions): Promise<Tensor | null> {
    if (!o.needDx) return null;
    const dx = plan.tensor(`${this.prefix}dx`, x.shape);
    plan.add(await activationBackwardProgram(this.op, this.slope, pointwiseWidth(x.size)).prepare(plan.gpu, { n: x.size }, { out: y, dy, dx }));
    return dx;
  }
}

export const ReLU = () => new Pointwise('ReLU', 'relu');
export const LeakyReLU = (slope = 0.01) => new Pointwise('LeakyReLU', 'leaky_relu', slope);
export const Tanh = () => new Pointwise('Tanh', 'tanh');
export const Sigmoid = () => new Pointwise('Sigmoid', 'sigmoid');
