/**
 * Linear: y = x W^T + b, x [N, in], W [out, in] (PyTorch layout). With `in` not a multiple of 4
 * (a conditional G's latent + 10 inputs) x and W are padded with zero columns to the next
 * multiple, so the GEMMs read them as vec4 (docs/kernels.md, "Matmul choice"); the zeros add
 * nothing, and dW and dx are unpadded on the way out.
 */
import type { Tensor } from '../gpu/tensor.js';
import type { PhiloxStream } from '../random/philox.js';
import { Layer, affineInit, expectShape, type BackwardOptions, type DyFeed, type ForwardOptions, type InitScheme, type Saved, type TensorSpec } from './layer.js';
import type { PlanBuilder } from './plan.js';
import { channelSum, matmul, padColumns } from './ops.js';

/** What Linear's forward keeps: x and W padded, where `in` is not a multiple of 4. */
interface LinearSaved extends Saved {
  padded?: { x: Tensor; weight: Tensor };
}

export class Linear extends Layer<LinearSaved> {
  readonly kind = 'Linear';
  /** The activation after it runs in the GEMM's epilogue. */
  override readonly fusesActivation = 'epilogue';
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

  /** The inner dimension the GEMMs use: `in`, rounded up to a multiple of 4. */
  get paddedIn(): number {
    return Math.ceil(this.inFeatures / 4) * 4;
  }

  async forward(plan: PlanBuilder, x: Tensor, { act }: ForwardOptions): Promise<LinearSaved> {
    const [N] = x.shape as [number];
    const [I, O, P] = [this.inFeatures, this.outFeatures, this.paddedIn];
    const y = plan.tensor(`${this.prefix}y`, this.outputShape(x.shape));
    const o = { transB: true, bias: 'col', ...(act ? { activation: act } : {}) } as const;
    if (P === I) {
      await matmul(plan, x, this.param('weight'), y, { M: N, N: O, K: I }, o, this.param('bias'));
      return { x, y };
    }
    const xp = plan.tensor(`${this.prefix}x (padded)`, [N, P]);
    const wp = plan.tensor(`${this.prefix}weight (padded)`, [O, P]);
    await padColumns(plan, 'pad', x, xp, N, I, P);
    await padColumns(plan, 'pad', this.param('weight'), wp, O, I, P);
    await matmul(plan, xp, wp, y, { M: N, N: O, K: P }, o, this.param('bias'));
    return { x, y, padded: { x: xp, weight: wp } };
  }

  /** The bias gradient, from a BatchNorm after it. */
  override dyFeed(_plan: PlanBuilder, _saved: LinearSaved, o: BackwardOptions): DyFeed {
    return o.paramGrads ? { biasGrad: this.grad('bias') } : {};
  }

  async backward(plan: PlanBuilder, { x, padded }: LinearSaved, dy: Tensor, o: BackwardOptions): Promise<Tensor | null> {
    const N = x.shape[0]!;
    const [I, O, P] = [this.inFeatures, this.outFeatures, this.paddedIn];
    if (o.paramGrads) {
      if (padded) {
        const dwp = plan.tensor(`${this.prefix}dW (padded)`, [O, P]);
        await matmul(plan, dy, padded.x, dwp, { M: O, N: P, K: N }, { transA: true });
        await padColumns(plan, o.accumulate ? 'unpad+' : 'unpad', dwp, this.grad('weight'), O, I, P);
      } else {
        await matmul(plan, dy, x, this.grad('weight'), { M: O, N: I, K: N }, { transA: true, accumulate: o.accumulate });
      }
      // Summed already where a BatchNorm after it took it (dyFeed).
      if (!o.fed?.biasGrad) await channelSum(plan, dy, this.grad('bias'), N, O, 1, o.accumulate);
    }
    if (!o.needDx) return null;
    const dx = plan.tensor(`${this.prefix}dx`, x.shape);
    if (!padded) {
      await matmul(plan, dy, this.param('weight'), dx, { M: N, N: I, K: O });
      return dx;
    }
    const dxp = plan.tensor(`${this.prefix}dx (padded)`, [N, P]);
    await matmul(plan, dy, padded.weight, dxp, { M: N, N: P, K: O });
    await padColumns(plan, 'unpad', dxp, dx, N, I, P);
    return dx;
  }
}
