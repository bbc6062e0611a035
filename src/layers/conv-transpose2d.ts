/**
 * ConvTranspose2d (square kernel k, stride s, padding p, output_padding 0), weight
 * [Cin, Cout, k, k] (PyTorch layout). It is Conv2d's input-gradient run forward: the output is
 * the "image" and the input is the "grid" of the geometry.
 * Forward: col[Cout k k, J] = W^T x2d[Cin, J] (J = N H W), y = col2im(col) + bias.
 * Backward: dcol = im2col(dy); dx = W dcol (stored NCHW by the GEMM); dW = x2d dcol^T; db = sum of dy.
 * x2d is x itself, read as [Cin, N H W] by the GEMMs (channelsByPixels).
 * That is the `explicit` path; the default `implicit` one runs the same products as implicit
 * GEMMs over the NCHW tensors (src/shaders/conv-gemm.ts): transposed (forward), forward (dx) and
 * weight (dW), with no col buffer and no permute.
 */
import type { Tensor } from '../gpu/tensor.js';
import type { FusedActivation } from '../shaders/activation.js';
import { convTransposeOut, type ConvGeometry } from '../shaders/conv.js';
import { ConvLayer, type ConvSaved } from './conv-base.js';
import type { BackwardOptions, ForwardOptions } from './layer.js';
import type { ConvPath, PlanBuilder } from './plan.js';
import { batchInnermost, channelsByPixels, col2im, convForwardOnCol, convGemm, imageCol, matmul } from './ops.js';

export class ConvTranspose2d extends ConvLayer {
  readonly kind = 'ConvTranspose2d';

  protected weightShape(): number[] {
    return [this.inChannels, this.outChannels, this.kernelSize, this.kernelSize];
  }

  protected outSize(size: number): number {
    return convTransposeOut(size, this.kernelSize, this.stride, this.padding);
  }

  /** The explicit path's col buffer [Cout k k, N H W] (and its gradient's). */
  override largestBufferFloats(input: readonly number[], conv: ConvPath = 'auto'): number {
    if (this.implicit(conv)) return super.largestBufferFloats(input);
    const [N, , H, W] = input as [number, number, number, number];
    return Math.max(super.largestBufferFloats(input), this.outChannels * this.kernelSize ** 2 * N * H * W);
  }

  protected readonly dxForm = 'forward';

  /** Image = the output (Cout x Ho x Wo), grid = the input (H x W). */
  protected geometry(x: Tensor): ConvGeometry {
    const [N, , H, W] = x.shape as [number, number, number, number];
    const [, , Ho, Wo] = this.outputShape(x.shape) as [number, number, number, number];
    return { N, C: this.outChannels, H: Ho, W: Wo, Ho: H, Wo: W, k: this.kernelSize, s: this.stride, p: this.padding };
  }

  async forward(plan: PlanBuilder, x: Tensor, { training, act }: ForwardOptions): Promise<ConvSaved> {
    const g = this.geometry(x);
    const route = this.route(plan, x, training);
    if (route.path === 'implicit') {
      const y = plan.tensor(`${this.prefix}y`, this.outputShape(x.shape));
      const epilogue = { bias: this.biasParam(), ...(act ? { activation: act } : {}) };
      if (route.keeps.xInner) {
        const xc = await batchInnermost(plan, x, `${this.prefix}x chwn`);
        const inner = route.forward === 'batchInner';
        await convGemm(plan, 'transposed', g, this.inChannels, this.param('weight'), inner ? xc : x, y, { ...epilogue, batchInner: inner });
        return { route, x, y, xc };
      }
      await convGemm(plan, 'transposed', g, this.inChannels, this.param('weight'), x, y, epilogue);
      return { route, x, y };
    }
    const J = g.N * g.Ho * g.Wo;
    const Kc = this.outChannels * g.k * g.k;
    const Ci = this.inChannels;
    const x2d = await channelsByPixels(plan, x, g.N, Ci, g.Ho * g.Wo, `${this.prefix}x2d`);
    const col = plan.tensor(`${this.prefix}col`, [Kc, J]);
    const y = plan.tensor(`${this.prefix}y`, this.outputShape(x.shape));
    await matmul(plan, this.param('weight'), x2d.t, col, { M: Kc, N: J, K: Ci }, { transA: true, ...x2d.asB });
    await col2im(plan, col, y, g, this.biasParam(), act);
    return { route, x, y, x2d };
  }

  async backward(plan: PlanBuilder, { x, route, xc, x2d }: ConvSaved, dy: Tensor, o: BackwardOptions): Promise<Tensor | null> {
    const g = this.geometry(x);
    if (route.path === 'implicit') return this.implicitBackward(plan, g, x, dy, o, { route, grid: x, image: dy, ...(xc ? { xc } : {}) });
    const J = g.N * g.Ho * g.Wo;
    const Kc = this.outChannels * g.k * g.k;
    const Ci = this.inChannels;
    const dcol = await imageCol(plan, dy, g, `${this.prefix}dcol`);
    if (o.paramGrads) {
      await matmul(plan, x2d!.t, dcol, this.grad('weight'), { M: Ci, N: Kc, K: J }, { transB: true, accumulate: o.accumulate, ...x2d!.asA });
      await this.biasGrad(plan, dy, o);
    }
    if (!o.needDx) return null;
    const dx = plan.tensor(`${this.prefix}dx`, x.shape);
    await convForwardOnCol(plan, g, Ci, this.param('weight'), dcol, dx);
    return dx;
  }
}
