/** What Conv2d and ConvTranspose2d share: hyperparameters, parameter specs, output shapes. */
import type { Gpu } from '../gpu/gpu.js';
import type { Tensor } from '../gpu/tensor.js';
import type { ConvGemmMode } from '../shaders/conv-gemm.js';
import type { ConvGeometry } from '../shaders/conv.js';
import type { FusedActivation } from '../shaders/activation.js';
import type { PhiloxStream } from '../random/philox.js';
import { Layer, affineInit, planTensor, expectShape, type BackwardOptions, type ConvPath, type DyFeed, type InitScheme, type PlanBuilder, type Saved, type TensorSpec } from './layer.js';
import { batchInnerForms, batchInnermost, channelSum, colCarriesForward, convForwardOnCol, convGemm, imageCol } from './ops.js';

/**
 * The convolution path a plan on `gpu` uses for the user's choice. `auto` on a hardware GPU is
 * the explicit path: it is the one measured there (H200, docs/benchmarks.md), while the implicit kernels'
 * register blocks (up to 32x16 outputs per thread) are sized for the CPU adapters and untimed on
 * a GPU (`--conv implicit` tries them). On CPU adapters `auto` is the per-layer rule below.
 */
export function convPathFor(gpu: Gpu, path: ConvPath = 'auto'): ConvPath {
  return path === 'auto' && !gpu.isSoftware ? 'explicit' : path;
}

/**
 * What a convolution's forward keeps: which path ran (chosen once, in forward) and that path's
 * buffers; `xc`, the input's batch-innermost copy, when products read those (batchInnerForms).
 */
export type ConvSaved = Saved & { path: 'implicit' | 'explicit'; xc?: Tensor };

export abstract class ConvLayer extends Layer {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly stride = 1,
    readonly padding = 0,
    /** PyTorch's `bias`: false leaves the layer without one (pytorch/examples' dcgan, whose BatchNorms make it redundant). */
    readonly bias = true,
  ) {
    super();
    for (const [name, v, min] of [['in_channels', inChannels, 1], ['out_channels', outChannels, 1], ['kernel_size', kernelSize, 1], ['stride', stride, 1], ['padding', padding, 0]] as const) {
      if (!Number.isInteger(v) || v < min) throw new Error(`${this.constructor.name}: ${name} must be an integer >= ${min}, found ${v}`);
    }
  }

  /** The forward; `act`: the activation after the layer, applied in the product's epilogue (Sequential). */
  abstract override forward(plan: PlanBuilder, x: Tensor, training?: boolean, act?: FusedActivation): Promise<Saved>;

  /**
   * Whether `path` runs this layer as implicit GEMMs. `auto` keeps im2col/col2im for layers with
   * a side of fewer than 4 channels (the 1-channel image layers): their col buffer is smaller
   * than their activations, so it costs no memory, and with one output row per pixel an
   * implicit GEMM has nothing to reuse: the explicit path measured faster for the Cout = 1
   * products (docs/benchmarks.md, "Convolution paths and fusions").
   */
  implicit(path: ConvPath = 'auto'): boolean {
    return path === 'implicit' || (path === 'auto' && Math.min(this.inChannels, this.outChannels) >= 4);
  }

  /** The path this layer runs for a plan's choice; forward records it in what it saves, backward follows it. */
  pathFor(conv: ConvPath = 'auto'): ConvSaved['path'] {
    return this.implicit(conv) ? 'implicit' : 'explicit';
  }

  /**
   * The implicit path's backward, the same for both convolutions but for which tensor is the
   * geometry's grid and which its image: dW from the two (`weight` form), db from dy, and dx
   * from the weights and dy by the layer's `dxForm`.
   * `col`: the image's col, made by the forward (Conv2d on llvmpipe). ConvTranspose2d's image is
   * dy: where its col carries the forward form (colCarriesForward) it is made here for dW and dx.
   * `xc`: the input's batch-innermost copy, made by the forward; then dy's is made here, once
   * for dW and dx.
   */
  protected async implicitBackward(
    plan: PlanBuilder,
    g: ConvGeometry,
    x: Tensor,
    dy: Tensor,
    o: BackwardOptions,
    { grid, image, col, xc }: { grid: Tensor; image: Tensor; col?: Tensor; xc?: Tensor },
  ): Promise<Tensor | null> {
    // The grid's channels (dy's are the outputs', x's the inputs'), whatever dy's layout.
    const G = grid === dy ? this.outChannels : this.inChannels;
    const dxForm = this.dxForm;
    if (xc) return this.batchInnerBackward(plan, g, G, x, dy, xc, o, grid === dy);
    const dxOnCol = o.needDx && dxForm === 'forward' && colCarriesForward(plan, g, G);
    const shared = col ?? (dxOnCol ? await imageCol(plan, image, g, `${this.prefix}dycol`) : undefined);
    if (o.paramGrads) {
      await convGemm(plan, 'weight', g, G, grid, image, this.grad('weight'), { accumulate: o.accumulate, ...(shared ? { col: shared } : {}) });
      await this.biasGrad(plan, dy, o);
    }
    if (!o.needDx) return null;
    const dx = planTensor(plan, `${this.prefix}dx`, x.shape);
    if (dxOnCol) await convForwardOnCol(plan, g, G, this.param('weight'), shared!, dx);
    else await convGemm(plan, dxForm, g, G, this.param('weight'), dy, dx);
    return dx;
  }

  /**
   * implicitBackward on batch-innermost copies, x's (`xc`, from the forward) and dy's, made here:
   * the weight gradient, and dx where its form reads them too (batchInnerForms).
   */
  private async batchInnerBackward(plan: PlanBuilder, g: ConvGeometry, G: number, x: Tensor, dy: Tensor, xc: Tensor, o: BackwardOptions, dyIsGrid: boolean): Promise<Tensor | null> {
    const dxForm = this.dxForm;
    const dxInner = o.needDx && batchInnerForms(plan, g).includes(dxForm);
    // dy arrives batch-innermost where the BatchNorm after wrote it so (dyFeed).
    const given = o.fed?.batchInner === true;
    const dyc = given ? dy : o.paramGrads || dxInner ? await batchInnermost(plan, dy, `${this.prefix}dy chwn`) : null;
    if (o.paramGrads) {
      const [gridC, imageC] = dyIsGrid ? [dyc!, xc] : [xc, dyc!];
      await convGemm(plan, 'weight', g, G, gridC, imageC, this.grad('weight'), { accumulate: o.accumulate, batchInner: true });
      await this.biasGrad(plan, dy, o);
    }
    if (!o.needDx) return null;
    const dx = planTensor(plan, `${this.prefix}dx`, x.shape);
    await convGemm(plan, dxForm, g, G, this.param('weight'), dxInner ? dyc! : dy, dx, { batchInner: dxInner });
    return dx;
  }

  /** The bias gradient from dy (NCHW), unless there is no bias or the layer after summed it (o.fed). */
  protected async biasGrad(plan: PlanBuilder, dy: Tensor, o: BackwardOptions): Promise<void> {
    if (!this.bias || o.fed?.biasGrad) return;
    const [N, C, H, W] = dy.shape as [number, number, number, number];
    await channelSum(plan, dy, this.grad('bias'), N, C, H * W, o.accumulate);
  }

  /**
   * The bias gradient, summed by a BatchNorm after it; and on the batch-innermost path dy
   * batch-innermost, where every product of the backward reads it so (the weight gradient, and
   * dx when its form does: batchInnerForms).
   */
  override dyFeed(plan: PlanBuilder, saved: Saved, o: BackwardOptions): DyFeed {
    const { x, xc } = saved as ConvSaved;
    const feed: DyFeed = o.paramGrads && this.bias ? { biasGrad: this.grad('bias') } : {};
    const dxInner = o.needDx && batchInnerForms(plan, this.geometry(x)).includes(this.dxForm);
    if (xc && (o.needDx ? dxInner : o.paramGrads)) feed.batchInner = true;
    return feed;
  }

  /** The form of the implicit GEMM that makes dx: `transposed` for Conv2d, `forward` for ConvTranspose2d. */
  protected abstract readonly dxForm: ConvGemmMode;

  /** The layer's geometry for an input. */
  protected abstract geometry(x: Tensor): ConvGeometry;

  /** PyTorch's weight layout: [Cout, Cin, k, k] for Conv2d, [Cin, Cout, k, k] transposed. */
  protected abstract weightShape(): number[];

  /** Output size along one dimension. */
  protected abstract outSize(size: number): number;

  override initParam(name: string, n: number, scheme: InitScheme, rng: PhiloxStream): Float32Array {
    return affineInit(this.weightShape(), name, n, scheme, rng);
  }

  override paramSpecs(): TensorSpec[] {
    return [{ name: 'weight', shape: this.weightShape() }, ...(this.bias ? [{ name: 'bias', shape: [this.outChannels] }] : [])];
  }

  /** The bias tensor, or undefined for a layer without one. */
  protected biasParam(): Tensor | undefined {
    return this.bias ? this.param('bias') : undefined;
  }

  outputShape(input: readonly number[]): number[] {
    const [N, , H, W] = input as [number, number, number, number];
    expectShape(`${this.prefix}${this.kind} input`, input, [N, this.inChannels, H, W]);
    const Ho = this.outSize(H);
    const Wo = this.outSize(W);
    if (Ho < 1 || Wo < 1) {
      throw new Error(`${this.prefix}${this.kind}: input ${H}x${W} with kernel ${this.kernelSize}, stride ${this.stride}, padding ${this.padding} gives an empty output ${Ho}x${Wo}`);
    }
    return [N, this.outChannels, Ho, Wo];
  }
}
