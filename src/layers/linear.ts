/** Linear: y = x W^T + b, x [N, in], W [out, in] (PyTorch layout). */
import type { Tensor } from '../gpu/tensor.js';
import type { FusedActivation } from '../shaders/activation.js';
import type { PhiloxStream } from '../random/philox.js';
import { Layer, affineInit, planTensor, expectShape, type BackwardOptions, type InitScheme, type PlanBuilder, type Saved, type TensorSpec } from './layer.js';
import { channelSum, matmul } from './ops.js';

export class Linear extends Layer {
  readonly kind = 'Linear';
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    super();
  }

  override paramSpecs(): TensorSpec[] {
    return [
      { name: 'weight', shape: [this.outFeatures, this.inFeatures] },
      { name: 'bias', shape: [this.outFeatures] },
    ];
  }

  override initParam(name: string, n: number, scheme: InitScheme, rng: PhiloxStream): Float32Array {
    return affineInit([this.outFeatures, this.inFeatures], name, n, scheme, rng);
  }

  outputShape(input: readonly number[]): number[] {
    expectShape(`${this.prefix}Linear input`, input, [input[0]!, this.inFeatures]);
    return [input[0]!, this.outFeatures];
  }

  async forward(plan: PlanBuilder, x: Tensor, _training = false, act?: FusedActivation): Promise<Saved> {
    const [N] = x.shape as [number];
    const y = planTensor(plan, `${this.prefix}y`, this.outputShape(x.shape));
    const o = { transB: true, bias: 'col', ...(act ? { activation: act } : {}) } as const;
    await matmul(plan, x, this.param('weight'), y, { M: N, N: this.outFeatures, K: this.inFeatures }, o, this.param('bias'));
    return { x, y };
  }

  async backward(plan: PlanBuilder, { x }: Saved, dy: Tensor, o: BackwardOptions): Promise<Tensor | null> {
    const N = x.shape[0]!;
    const [I, O] = [this.inFeatures, this.outFeatures];
    if (o.paramGrads) {
      await matmul(plan, dy, x, this.grad('weight'), { M: O, N: I, K: N }, { transA: true, accumulate: o.accumulate });
      await channelSum(plan, dy, this.grad('bias'), N, O, 1, o.accumulate);
    }
    if (!o.needDx) return null;
    const dx = planTensor(plan, `${this.prefix}dx`, x.shape);
    await matmul(plan, dy, this.param('weight'), dx, { M: N, N: I, K: O });
    return dx;
  }
}
