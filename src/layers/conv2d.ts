/**
 * Conv2d (square kernel k, stride s, padding p), weight [Cout, Cin, k, k], as im2col + matmul:
 * forward Y[Cout, J] = W[Cout, Cin k k] col[Cin k k, J] + bias, J = N Ho Wo, stored as NCHW by
 * the GEMM's epilogue.
 * Backward: dW = dY2d col^T, dcol = W^T dY2d, dx = col2im(dcol), db = sum of dY; dY2d is dY
 * itself, read as [Cout, N Ho Wo] by the GEMMs (channelsByPixels).
 * That is the `explicit` path; the default `implicit` one runs the same three products as
 * implicit GEMMs over the NCHW tensors (src/shaders/conv-gemm.ts): forward, weight (dW) and
 * transposed (dx), with no col buffer and no permute.
 */
import type { Tensor } from '../gpu/tensor.js';
import { convOut, type ConvGeometry } from '../shaders/conv.js';
import { ConvLayer, type ConvSaved } from './conv-base.js';
import type { BackwardOptions, ForwardOptions } from './layer.js';
import type { ConvPath, PlanBuilder } from './plan.js';
import { batchInnermost, channelsByPixels, col2im, convForwardOnCol, convGemm, imageCol, matmul } from './ops.js';

export class Conv2d extends ConvLayer {
  readonly kind = 'Conv2d';

  protected weightShape(): number[] {
    return [this.outChannels, this.inChannels, this.kernelSize, this.kernelSize];
  }

  protected outSize(size: number): number {
    return convOut(size, this.kernelSize, this.stride, this.padding);
  }

  /** The explicit path's im2col buffer [Cin k k, N Ho Wo] (and its gradient's). */
  override largestBufferFloats(input: readonly number[], conv: ConvPath = 'auto'): number {
    if (this.implicit(conv)) return super.largestBufferFloats(input);
    const [N, , Ho, Wo] = this.outputShape(input) as [number, number, number, number];
    return Math.max(super.largestBufferFloats(input), this.inChannels * this.kernelSize ** 2 * N * Ho * Wo);
  }

  protected readonly dxForm = 'transposed';

  protected geometry(x: Tensor): ConvGeometry {
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const [, , Ho, Wo] = this.outputShape(x.shape) as [number, number, number, number];
    return { N, C, H, W, Ho, Wo, k: this.kernelSize, s: this.stride, p: this.padding };
  }

  async forward(plan: PlanBuilder, x: Tensor, { training, act }: ForwardOptions): Promise<ConvSaved> {
    const g = this.geometry(x);
    const epilogue = { bias: this.biasParam(), ...(act ? { activation: act } : {}) };
    const route = this.route(plan, x, training);
    const y = plan.tensor(`${this.prefix}y`, this.outputShape(x.shape));
    if (route.keeps.xInner) {
      const xc = await batchInnermost(plan, x, `${this.prefix}x chwn`);
      const inner = route.forward === 'batchInner';
      await convGemm(plan, 'forward', g, this.outChannels, this.param('weight'), inner ? xc : x, y, { ...epilogue, batchInner: inner });
      return { route, x, y, xc };
    }
    if (route.forward === 'implicit') {
      await convGemm(plan, 'forward', g, this.outChannels, this.param('weight'), x, y, epilogue);
      return { route, x, y };
    }
    // The explicit path, or the col route (its col kept for the weight gradient).
    const col = await imageCol(plan, x, g, `${this.prefix}col`);
    // The GEMM's epilogue adds the bias (and applies act) and stores [Cout, N Ho Wo] straight into NCHW.
    await convForwardOnCol(plan, g, this.outChannels, this.param('weight'), col, y, epilogue);
    return { route, x, y, col };
  }

  async backward(plan: PlanBuilder, { x, route, xc, col }: ConvSaved, dy: Tensor, o: BackwardOptions): Promise<Tensor | null> {
    const g = this.geometry(x);
    if (route.path === 'implicit') return this.implicitBackward(plan, g, x, dy, o, { route, grid: dy, image: x, ...(col ? { col } : {}), ...(xc ? { xc } : {}) });
    const J = g.N * g.Ho * g.Wo;
    const Kc = g.C * g.k * g.k;
    const Co = this.outChannels;
    const dy2d = await channelsByPixels(plan, dy, g.N, Co, g.Ho * g.Wo, `${this.prefix}dy2d`);
    if (o.paramGrads) {
      await matmul(plan, dy2d.t, col!, this.grad('weight'), { M: Co, N: Kc, K: J }, { transB: true, accumulate: o.accumulate, ...dy2d.asA });
      await this.biasGrad(plan, dy, o);
    }
    if (!o.needDx) return null;
    const dcol = plan.tensor(`${this.prefix}dcol`, [Kc, J]);
    const dx = plan.tensor(`${this.prefix}dx`, x.shape);
    await matmul(plan, this.param('weight'), dy2d.t, dcol, { M: Kc, N: J, K: Co }, { transA: true, ...dy2d.asB });
    await col2im(plan, dcol, dx, g);
    return dx;
  }
}
