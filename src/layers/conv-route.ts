/**
 * Every adapter rule for convolutions, in one place: which form each of a convolution layer's
 * three products (forward, weight gradient, input gradient) runs in on which adapter, and which
 * copies of its operands the forward makes and keeps for the backward. A layer's forward works
 * its ConvRoute out once (convRoute) and keeps it in its saved state; the backward and the
 * layer's DyFeed read it from there, never from the adapter again. The kernels' register blocks
 * (convGemmFixedProgram) are a per-shape table in src/shaders/conv-gemm.ts; this module decides
 * which kernel FORM runs. docs/kernels.md, "Convolution paths", has the measurements.
 */
import type { Gpu } from '../gpu/gpu.js';
import { convGemmShape, type ConvGemmMode, type ConvGemmOp } from '../shaders/conv-gemm.js';
import type { ConvGeometry } from '../shaders/conv.js';
import { prefersDotProducts } from '../shaders/matmul.js';
import type { ChannelForm } from '../shaders/reduce.js';
import type { ConvPath, KernelRoute, PlanBuilder } from './plan.js';

/**
 * How one product of a convolution runs:
 * - `explicit`: the layer's explicit path (im2col or col2im + a matmul variant, src/shaders/conv.ts);
 * - `implicit`: an implicit GEMM over the NCHW tensors (src/shaders/conv-gemm.ts);
 * - `batchInner`: an implicit GEMM over batch-innermost copies [C, H, W, N] (ConvGemmSpec.batchInner);
 * - `col`: a plain GEMM on the im2col col of the geometry's image (A B^T for the weight form, NN
 *   with the NCHW epilogue for the forward form).
 */
export type ProductForm = 'explicit' | 'implicit' | 'batchInner' | 'col';

/** A convolution layer's route for one forward (one geometry, so one batch) of one plan. */
export interface ConvRoute {
  /** The layer's path: `explicit` runs all three products through im2col/col2im and a matmul. */
  path: 'implicit' | 'explicit';
  /** The layer's forward: Conv2d's `forward` GEMM form, ConvTranspose2d's `transposed` one. */
  forward: ProductForm;
  /** The weight gradient (the `weight` form). */
  weight: ProductForm;
  /** The input gradient: Conv2d's `transposed` form, ConvTranspose2d's `forward` one. */
  dx: ProductForm;
  /**
   * What the forward makes and keeps for the backward on the implicit path: `xInner`, the
   * input's batch-innermost copy; `col`, the input's im2col col (Conv2d's forward on the col).
   * dy's copies are made by the backward (or written so by a BatchNorm after: DyFeed). The
   * explicit path keeps its own buffers (Conv2d its col, ConvTranspose2d x2d).
   */
  keeps: { xInner: boolean; col: boolean };
}

/** What a convolution layer is to its route: its channels and which GEMM forms its products are. */
export interface ConvRouteLayer {
  inChannels: number;
  outChannels: number;
  /** The geometry's grid channels: Conv2d's outputs, ConvTranspose2d's inputs. */
  gridChannels: number;
  /** The GEMM form of the layer's forward (`forward` or `transposed`), and of its input gradient (the other). */
  forwardForm: ConvGemmMode;
  dxForm: ConvGemmMode;
}

/** The adapter facts the rules read, named once: a CPU adapter, and one that prefers dot products (SwiftShader). */
function adapterKind(gpu: Gpu): { software: boolean; dot: boolean } {
  return { software: gpu.isSoftware, dot: prefersDotProducts(gpu) };
}

/**
 * The convolution path a plan on `gpu` uses for the user's choice. `auto` on a hardware GPU is
 * the explicit path: it is the one measured there (H200, docs/benchmarks.md), while the implicit kernels'
 * register blocks (up to 32x16 outputs per thread) are sized for the CPU adapters and untimed on
 * a GPU (`--conv implicit` tries them). On CPU adapters `auto` is the per-layer rule (layerPath).
 */
export function convPathFor(gpu: Gpu, path: ConvPath = 'auto'): ConvPath {
  return path === 'auto' && !adapterKind(gpu).software ? 'explicit' : path;
}

/** A plan's choices for the user's route: their matmul, and the convolution path `auto` means on `gpu`. */
export function planRoute(gpu: Gpu, route: KernelRoute = {}): KernelRoute & { conv: ConvPath } {
  return { ...route, conv: convPathFor(gpu, route.conv) };
}

/** Whether the user named kernels (`--conv` or `--matmul` other than auto), which then win over the adapter's rules. */
function routeChosen(route: KernelRoute): boolean {
  return (route.conv ?? 'auto') !== 'auto' || (route.matmul ?? 'auto') !== 'auto';
}

/** Eval-mode batches up to this size on a CPU adapter sample on the kernels that compile fastest. */
export const LIGHT_SAMPLING_BATCH = 64;

/**
 * How a sampler of `batch` images builds its plan. On a CPU adapter compiling, not running, is
 * what a small batch costs (a page drawing 25 digits): explicit convolutions and scalar 4x4
 * GEMMs compile in 1.6 s where the register-blocked kernels take 27 s on SwiftShader (the
 * reference conditional G, under load; docs/benchmarks.md). Larger batches (eval's 10,000
 * samples) and GPUs keep the fast route. A route the user named wins.
 */
export function samplingRoute(gpu: Gpu, batch: number, chosen: KernelRoute = {}): KernelRoute & { conv: ConvPath } {
  if (routeChosen(chosen)) return planRoute(gpu, chosen);
  return adapterKind(gpu).software && batch <= LIGHT_SAMPLING_BATCH ? { conv: 'explicit', matmul: 'scalar_4x4' } : { conv: convPathFor(gpu) };
}

/**
 * The path a layer runs for a plan's choice. `auto` keeps im2col/col2im for layers with a side
 * of fewer than 4 channels (the 1-channel image layers): their col buffer is smaller than their
 * activations, so it costs no memory, and with one output row per pixel an implicit GEMM has
 * nothing to reuse: the explicit path measured faster for the Cout = 1 products
 * (docs/benchmarks.md, "Convolution paths and fusions").
 */
export function layerPath(conv: ConvPath = 'auto', inChannels: number, outChannels: number): ConvRoute['path'] {
  return conv === 'implicit' || (conv === 'auto' && Math.min(inChannels, outChannels) >= 4) ? 'implicit' : 'explicit';
}

/**
 * The route of `layer` over geometry `g` in `plan`; `training`: the forward is followed by a
 * backward, so it makes the copies the weight gradient reads.
 */
export function convRoute(plan: PlanBuilder, layer: ConvRouteLayer, g: ConvGeometry, training: boolean): ConvRoute {
  const path = layerPath(plan.conv, layer.inChannels, layer.outChannels);
  if (path === 'explicit') return { path, forward: 'explicit', weight: 'explicit', dx: 'explicit', keeps: { xInner: false, col: false } };
  const inner = batchInnerForms(plan, g);
  const xInner = inner.includes(layer.forwardForm) || (training && inner.includes('weight'));
  if (xInner) {
    // Every backward product then reads the copies; dx where its form does (the weight form always does).
    const form = (mode: ConvGemmMode): ProductForm => (inner.includes(mode) ? 'batchInner' : 'implicit');
    return { path, forward: form(layer.forwardForm), weight: 'batchInner', dx: form(layer.dxForm), keeps: { xInner, col: false } };
  }
  const viaCol = weightViaCol(plan, { mode: 'weight', g, G: layer.gridChannels, bias: false, accumulate: false });
  const carries = viaCol && colCarriesForward(plan);
  // The forward form runs on the col only where that col is made anyway: for the weight gradient (training).
  const forward: ProductForm = carries && training && layer.forwardForm === 'forward' ? 'col' : 'implicit';
  const dx: ProductForm = carries && layer.dxForm === 'forward' ? 'col' : 'implicit';
  return { path, forward, weight: viaCol ? 'col' : 'implicit', dx, keeps: { xInner: false, col: forward === 'col' } };
}

/**
 * The products of a convolution that read batch-innermost copies of the image and grid
 * (ConvGemmSpec.batchInner), with `--conv auto` on a CPU adapter when the batch is a multiple
 * of 4. Four columns (forward, transposed) or four k (weight) are then one aligned vec4 load
 * instead of four scalar gathers, and the weight form needs no im2col col. On llvmpipe all three
 * (D's Conv2d 64->128, batch 128, 2-core Xeon: forward 0.86x the NCHW kernel's time, transposed
 * 0.90x, weight 0.89x the im2col + A B^T route's); on SwiftShader the weight form only (0.74x
 * the col route's time at batch 64), as its dot-form forward and transposed kernels, which read
 * B along K, beat the batch-innermost ones (171 against 191 ms). docs/benchmarks.md,
 * "Batch-innermost operands". None with a dot-form --conv-block.
 */
function batchInnerForms(plan: PlanBuilder, g: ConvGeometry): readonly ConvGemmMode[] {
  const { software, dot } = adapterKind(plan.gpu);
  if ((plan.conv ?? 'auto') !== 'auto' || !software || plan.convBlock?.endsWith('_dot') || g.N % 4 !== 0) return [];
  return dot ? ['weight'] : ['forward', 'weight', 'transposed'];
}

/**
 * Whether the weight form runs as im2col + a GEMM with both operands along K (A B^T) instead of
 * the implicit kernel: with `--conv auto` on a CPU adapter, where the col buffer fits one binding
 * and K (the batch's pixels) is a multiple of 4, as the vec4 GEMMs need. There the gathers of the
 * implicit kernel repeat for every block of rows, while im2col gathers each value once and the
 * GEMM then reads both operands as vec4s: 0.61-0.70x the implicit kernel's time on llvmpipe,
 * 0.85-1.00x on SwiftShader (docs/benchmarks.md, "Weight gradients through im2col").
 * `--conv implicit` keeps the implicit kernel. Exported for callers that run a product without a
 * layer's route (ops.convGemm's default: the benchmarks).
 */
export function weightViaCol(plan: PlanBuilder, op: ConvGemmOp): boolean {
  if (op.mode !== 'weight' || (plan.conv ?? 'auto') !== 'auto' || !adapterKind(plan.gpu).software) return false;
  const { N, K } = convGemmShape(op);
  return K % 4 === 0 && N * K * 4 <= plan.gpu.bindingLimit;
}

/**
 * Whether the image's col, made where the weight form runs through im2col, also carries the
 * layer's forward-form product (Conv2d's forward, ConvTranspose2d's dx) as a plain GEMM instead
 * of the implicit forward kernel: on llvmpipe (not on SwiftShader, whose dot-form implicit
 * forward is faster than a GEMM on the col: 311 against 356 ms at D's batch 128). There the
 * GEMM on the col runs at the adapter's GEMM rate (0.86x the implicit kernel's time at D's
 * Conv2d 64->128, batch 128, 2-core Xeon) and the col is made once for both products.
 */
function colCarriesForward(plan: PlanBuilder): boolean {
  return !adapterKind(plan.gpu).dot;
}

/**
 * Whether a BatchNorm whose kernels run in `form` writes its dx batch-innermost for the
 * convolution before it (DyFeed.batchInner) rather than leaving that copy to the convolution:
 * not in the vec4-of-pixels form, whose four strided scalar stores per load cost more on
 * llvmpipe than the separate vec4 copy (BatchNorm2d(64) at 14x14: 7.0 ms against 5.5 for the
 * plain kernel, the copy and the sum, docs/benchmarks.md).
 */
export function batchNormWritesBatchInner(form: ChannelForm): boolean {
  return form !== 'thread_vec4';
}
