/** What Conv2d and ConvTranspose2d share: hyperparameters, parameter specs, output shapes. */
import type { Tensor } from '../gpu/tensor.js';
import type { ConvGemmMode } from '../shaders/conv-gemm.js';
import type { ConvGeometry } from '../shaders/conv.js';
import type { PhiloxStream } from '../random/philox.js';
import { Layer, affineInit, expectShape, type BackwardOptions, type DyFeed, type InitScheme, type Saved, type TensorSpec } from './layer.js';
import type { ConvPath, PlanBuilder } from './plan.js';
import { batchInnermost, channelSum, convForwardOnCol, convGemm, imageCol, type ChannelsByPixels } from './ops.js';
import { convRoute, layerPath, type ConvRoute, type ConvRouteLayer } from './conv-route.js';

/** Re-exported for the callers that import it from here (the trainer, the sampler, the evaluator). */
export { convPathFor } from './conv-route.js';

/**
 * What a convolution's forward keeps: its route (convRoute, worked out once in the forward; the
 * backward follows it) and that route's buffers: `xc`, the input's batch-innermost copy
 * (route.keeps.xInner); `col`, the input's im2col col (route.keeps.col, or the explicit path's).
 */
export interface ConvSaved extends Saved {
  route: ConvRoute;
  xc?: Tensor;
  col?: Tensor;
  /** The explicit ConvTranspose2d's x as the GEMMs' [Cin, N H W] operand. */
  x2d?: ChannelsByPixels;
}

export abstract class ConvLayer extends Layer<ConvSaved> {
  /** The activation after it runs in the product's (or col2im's) epilogue. */
  override readonly fusesActivation = 'epilogue';

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

  /** What this layer is to its route (conv-route.ts): its channels and its products' GEMM forms. */
  protected get routeLayer(): ConvRouteLayer {
    const forwardForm = this.dxForm === 'transposed' ? 'forward' : 'transposed';
    return { inChannels: this.inChannels, outChannels: this.outChannels, gridChannels: forwardForm === 'forward' ? this.outChannels : this.inChannels, forwardForm, dxForm: this.dxForm };
  }

  /** The layer's route for a forward over `x` in `plan` (once per forward; kept in ConvSaved). */
  protected route(plan: PlanBuilder, x: Tensor, training: boolean): ConvRoute {
    return convRoute(plan, this.routeLayer, this.geometry(x), training);
  }

  /** Whether the layer runs on the implicit path for a plan's choice (the batch limit's buffer sizes). */
  protected implicit(conv: ConvPath = 'auto'): boolean {
    return layerPath(conv, this.inChannels, this.outChannels) === 'implicit';
  }

  /**
   * The implicit path's backward, the same for both convolutions but for which tensor is the
   * geometry's grid and which its image: dW from the two (`weight` form), db from dy, and dx
   * from the weights and dy by the layer's `dxForm`, each in the form its route names.
   * `col`: the image's col, made by the forward (route.keeps.col: Conv2d on llvmpipe).
   * ConvTranspose2d's image is dy: where its dx runs on the col, the col is made here, once for
   * dW and dx. `xc`: the input's batch-innermost copy (route.keeps.xInner); then dy's is made here.
   */
  protected async implicitBackward(
    plan: PlanBuilder,
    g: ConvGeometry,
    x: Tensor,
    dy: Tensor,
    o: BackwardOptions,
    { route, grid, image, col, xc }: { route: ConvRoute; grid: Tensor; image: Tensor; col?: Tensor; xc?: Tensor },
  ): Promise<Tensor | null> {
    // The grid's channels (dy's are the outputs', x's the inputs'), whatever dy's layout.
    const G = grid === dy ? this.outChannels : this.inChannels;
    if (route.keeps.xInner) return this.batchInnerBackward(plan, g, G, x, dy, xc!, route, o, grid === dy);
    const dxOnCol = o.needDx && route.dx === 'col';
    const shared = col ?? (dxOnCol ? await imageCol(plan, image, g, `${this.prefix}dycol`) : undefined);
    if (o.paramGrads) {
      const dW = this.grad('weight');
      const wCol = route.weight !== 'col' ? null : (shared ?? (await imageCol(plan, image, g, `${dW.label} col`)));
      await convGemm(plan, 'weight', g, G, grid, image, dW, { accumulate: o.accumulate, col: wCol });
      await this.biasGrad(plan, dy, o);
    }
    if (!o.needDx) return null;
    const dx = plan.tensor(`${this.prefix}dx`, x.shape);
    if (dxOnCol) await convForwardOnCol(plan, g, G, this.param('weight'), shared!, dx);
    else await convGemm(plan, this.dxForm, g, G, this.param('weight'), dy, dx);
    return dx;
  }

  /**
   * implicitBackward on batch-innermost copies, x's (`xc`, from the forward) and dy's, made here:
   * the weight gradient, and dx where its route reads them too.
   */
  private async batchInnerBackward(plan: PlanBuilder, g: ConvGeometry, G: number, x: Tensor, dy: Tensor, xc: Tensor, route: ConvRoute, o: BackwardOptions, dyIsGrid: boolean): Promise<Tensor | null> {
    const dxInner = o.needDx && route.dx === 'batchInner';
    // dy arrives batch-innermost where the BatchNorm after wrote it so (dyFeed).
    const given = o.fed?.batchInner === true;
    const dyc = given ? dy : o.paramGrads || dxInner ? await batchInnermost(plan, dy, `${this.prefix}dy chwn`) : null;
    if (o.paramGrads) {
      const [gridC, imageC] = dyIsGrid ? [dyc!, xc] : [xc, dyc!];
      await convGemm(plan, 'weight', g, G, gridC, imageC, this.grad('weight'), { accumulate: o.accumulate, batchInner: true });
      await this.biasGrad(plan, dy, o);
    }
    if (!o.needDx) return null;
    const dx = plan.tensor(`${this.prefix}dx`, x.shape);
    await convGemm(plan, this.dxForm, g, G, this.param('weight'), dxInner ? dyc! : dy, dx, { batchInner: dxInner });
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
   * dx when its route reads the copies too).
   */
  override dyFeed(_plan: PlanBuilder, { route }: ConvSaved, o: BackwardOptions): DyFeed {
    const feed: DyFeed = o.paramGrads && this.bias ? { biasGrad: this.grad('bias') } : {};
    if (route.keeps.xInner && (o.needDx ? route.dx === 'batchInner' : o.paramGrads)) feed.batchInner = true;
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
