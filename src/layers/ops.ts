/**
 * The op helpers layers are written with: each checks tensor sizes against the shape it is given,
 * prepares one dispatch through the Gpu's dispatch helper and appends it to the plan.
 */
import type { Tensor } from '../gpu/tensor.js';
import { col2imProgram, im2colProgram, nchwToChwnProgram, nchwToCnProgram, type ConvGeometry } from '../shaders/conv.js';
import { convGemmFixedProgram, convGemmPackedSize, convGemmShape, convGemmSizes, type ConvGemmMode, type ConvGemmOp } from '../shaders/conv-gemm.js';
import { convGemmUniform, prepareConvGemm, prepareConvPack } from './conv-gemm-prepare.js';
import {
  MATMUL_VARIANTS,
  fixedMatmulVariant,
  matmulSupports,
  type MatmulOptions,
  type MatmulShape,
  type MatmulVariant,
} from '../shaders/matmul.js';
import { padColumnsProgram, type PadDirection, copyIntoProgram } from '../shaders/elementwise.js';
import { channelSumProgram } from '../shaders/reduce.js';
import type { FusedActivation } from '../shaders/activation.js';
import type { PlanBuilder } from './plan.js';
import { prepareMatmul } from './matmul-prepare.js';
import { weightViaCol } from './conv-route.js';
import { DRAWS_PER_IMAGE, augmentBackwardProgram, augmentForwardProgram, type Augment } from '../shaders/augment.js';

function checkSize(what: string, t: Tensor, expected: number): void {
  if (t.size !== expected) {
    throw new Error(`${what}: tensor "${t.label}" [${t.shape.join(', ')}] has ${t.size} values, expected ${expected}`);
  }
}

/** Which matmul variant a plan uses for a shape: its named choice if that supports the shape, else the best. */
export async function chooseMatmul(plan: PlanBuilder, shape: MatmulShape, o: MatmulOptions): Promise<MatmulVariant> {
  const wanted = plan.matmul ?? 'auto';
  if (wanted === 'auto') return plan.tuner ? plan.tuner.choose(shape, o) : fixedMatmulVariant(plan.gpu, shape, o);
  if (!(MATMUL_VARIANTS as readonly string[]).includes(wanted)) {
    throw new Error(`matmul variant: expected auto or one of ${MATMUL_VARIANTS.join(', ')}, found "${wanted}"`);
  }
  return matmulSupports(wanted as MatmulVariant, shape, o, plan.gpu.isSoftware) ? (wanted as MatmulVariant) : 'naive';
}

/** C[M,N] (+)= op(A) op(B) (+ bias, stored NCHW when asked); see src/shaders/matmul.ts for the layouts and epilogues. */
export async function matmul(plan: PlanBuilder, A: Tensor, B: Tensor, C: Tensor, shape: MatmulShape, o: MatmulOptions = {}, bias?: Tensor): Promise<void> {
  const { M, N, K } = shape;
  checkSize('matmul A', A, M * K);
  checkSize('matmul B', B, K * N);
  checkSize('matmul C', C, M * N);
  if (bias) checkSize('matmul bias', bias, o.bias === 'row' ? M : N);
  const variant = await chooseMatmul(plan, shape, o);
  plan.add(...(await prepareMatmul(plan.gpu, variant, shape, o, A, B, C, bias)).dispatches);
}

/**
 * One implicit-GEMM convolution product (src/shaders/conv-gemm.ts): `mode` names the form, g the
 * image/grid geometry, G the grid's channels. Bindings: forward (weight, image, grid-shaped out),
 * weight (grid, image, weight-shaped out), transposed (weight, grid, image-shaped out).
 * `batchInner`: the image and grid given are their batch-innermost copies (batchInnermost).
 * `col`: the weight form as im2col + an A B^T GEMM on this col of the image (a layer's route,
 * ConvRoute.weight `col`); null: the implicit kernel, as the route says; absent: the route
 * module's rule (weightViaCol), for callers without a layer's route (the benchmarks).
 */
export async function convGemm(
  plan: PlanBuilder,
  mode: ConvGemmMode,
  g: ConvGeometry,
  G: number,
  A: Tensor,
  B: Tensor,
  out: Tensor,
  o: { bias?: Tensor; accumulate?: boolean; activation?: FusedActivation; col?: Tensor | null; batchInner?: boolean } = {},
): Promise<void> {
  const sizes = convGemmSizes({ mode, g, G });
  checkSize(`conv ${mode} A`, A, sizes.A);
  checkSize(`conv ${mode} B`, B, sizes.B);
  checkSize(`conv ${mode} out`, out, sizes.out);
  const op: ConvGemmOp = { mode, g, G, bias: !!o.bias, accumulate: !!o.accumulate, ...(o.activation ? { activation: o.activation } : {}) };
  if (o.bias) checkSize(`conv ${mode} bias`, o.bias, mode === 'transposed' ? g.C : G);
  if (o.batchInner) {
    if (g.N % 4 !== 0) throw new Error(`conv ${mode}: a batch-innermost operand needs a batch that is a multiple of 4, found ${g.N}`);
    if (o.col) throw new Error(`conv ${mode}: a col and batch-innermost operands are two routes, not one`);
    op.batchInner = true;
  }
  if (o.col && mode !== 'weight') throw new Error(`conv ${mode}: a col of the image carries the weight form only here`);
  const viaCol = !!o.col || (o.col === undefined && !op.batchInner && weightViaCol(plan, op));
  if (viaCol) return weightGradientViaCol(plan, op, A, o.col ?? (await imageCol(plan, B, g, `${out.label} col`)), out);
  const name = plan.convBlock ?? (plan.tuner ? await plan.tuner.chooseConv(op) : convGemmFixedProgram(op, plan.gpu));
  const uniform = convGemmUniform(plan.gpu, op, `${out.label} conv dims`);
  const packed = convGemmPackedSize(op);
  let a = A;
  if (packed > 0) {
    a = plan.tensor(`${out.label} packed A`, [packed]);
    plan.add(await prepareConvPack(plan.gpu, op, A, a, uniform));
  }
  plan.add(await prepareConvGemm(plan.gpu, name, op, { A: a, B, out, ...(o.bias ? { bias: o.bias } : {}) }, uniform));
}

/** col(image) [C k k, N Ho Wo], the products' shared operand. */
export async function imageCol(plan: PlanBuilder, image: Tensor, g: ConvGeometry, label: string): Promise<Tensor> {
  const col = plan.tensor(label, [g.C * g.k * g.k, g.N * g.Ho * g.Wo]);
  await im2col(plan, image, col, g);
  return col;
}

/** The forward form as a GEMM on the image's col: out[G, N Ho Wo] = W[G, C k k] col, stored NCHW, bias and activation in the epilogue. */
export async function convForwardOnCol(plan: PlanBuilder, g: ConvGeometry, G: number, weight: Tensor, col: Tensor, out: Tensor, o: { bias?: Tensor; activation?: FusedActivation } = {}): Promise<void> {
  const shape = { M: G, N: g.N * g.Ho * g.Wo, K: g.C * g.k * g.k };
  await matmul(plan, weight, col, out, shape, { ...(o.bias ? { bias: 'row' } : {}), nchwHW: g.Ho * g.Wo, ...(o.activation ? { activation: o.activation } : {}) }, o.bias);
}

/** dW[G, C k k] (+)= grid [G, (n, oh, ow)] col(image)^T: the grid read in place when Ho Wo is a multiple of 4, else permuted. */
async function weightGradientViaCol(plan: PlanBuilder, op: ConvGemmOp, grid: Tensor, col: Tensor, out: Tensor): Promise<void> {
  const { M, N, K } = convGemmShape(op);
  checkSize('conv weight col', col, N * K);
  const a = await channelsByPixels(plan, grid, op.g.N, M, op.g.Ho * op.g.Wo, `${out.label} grid2d`);
  await matmul(plan, a.t, col, out, { M, N, K }, { transB: true, accumulate: op.accumulate, ...a.asA });
}

export async function im2col(plan: PlanBuilder, image: Tensor, col: Tensor, g: ConvGeometry): Promise<void> {
  checkSize('im2col image', image, g.N * g.C * g.H * g.W);
  const n = g.C * g.k * g.k * g.N * g.Ho * g.Wo;
  checkSize('im2col col', col, n);
  plan.add(await im2colProgram(g).prepare(plan.gpu, g, { image, col }));
}

export async function col2im(plan: PlanBuilder, col: Tensor, image: Tensor, g: ConvGeometry, bias?: Tensor, act?: FusedActivation): Promise<void> {
  checkSize('col2im col', col, g.C * g.k * g.k * g.N * g.Ho * g.Wo);
  const n = g.N * g.C * g.H * g.W;
  checkSize('col2im image', image, n);
  plan.add(await col2imProgram(g, !!bias, act).prepare(plan.gpu, { n }, bias ? { col, image, bias } : { col, image }));
}

/** dst[first + i] = src[i]: `src` placed inside `dst` from float `first` on. */
export async function copyInto(plan: PlanBuilder, src: Tensor, dst: Tensor, first: number): Promise<void> {
  if (!Number.isInteger(first) || first < 0 || first + src.size > dst.size) {
    throw new Error(`copy: "${src.label}" (${src.size} values) does not fit in "${dst.label}" (${dst.size}) from ${first}`);
  }
  plan.add(await copyIntoProgram().prepare(plan.gpu, { n: src.size }, { src, dst }, { first }));
}

/** [rows, width] -> [rows, padded] with zero columns appended (`pad`), or back (`unpad`; `unpad+` adds into dst). */
export async function padColumns(plan: PlanBuilder, direction: PadDirection, src: Tensor, dst: Tensor, rows: number, width: number, padded: number): Promise<void> {
  checkSize(`${direction} columns src`, src, rows * (direction === 'pad' ? width : padded));
  checkSize(`${direction} columns dst`, dst, rows * (direction === 'pad' ? padded : width));
  plan.add(await padColumnsProgram(direction).prepare(plan.gpu, { rows, width, padded }, { src, dst }));
}

/** An [N, C, HW] tensor as the GEMM operand [C, N HW]: the tensor itself, read NCHW, or a permuted copy. */
export interface ChannelsByPixels {
  t: Tensor;
  /** The matmul options that read `t` as op(A) or as op(B) (aNchwHW / bNchwHW; none for a copy). */
  asA: Pick<MatmulOptions, 'aNchwHW'>;
  asB: Pick<MatmulOptions, 'bNchwHW'>;
}

/**
 * x [N, C, HW] as [C, N HW] for a GEMM: read in place (matmul's NCHW operand layouts) when HW is a
 * multiple of 4, which the vec4 kernels need to load it; otherwise permuted into a copy, so that
 * odd image sizes keep the vec4 kernels rather than falling back to scalar ones.
 */
export async function channelsByPixels(plan: PlanBuilder, x: Tensor, N: number, C: number, HW: number, label: string): Promise<ChannelsByPixels> {
  checkSize(`${label} (NCHW)`, x, N * C * HW);
  if (HW % 4 === 0) return { t: x, asA: { aNchwHW: HW }, asB: { bNchwHW: HW } };
  const t = plan.tensor(label, [C, N * HW]);
  plan.add(await nchwToCnProgram({ N, C, HW }).prepare(plan.gpu, {}, { src: x, dst: t }));
  return { t, asA: {}, asB: {} };
}

/** x [N, C, H, W] as its batch-innermost copy [C, H, W, N] (N a multiple of 4). */
export async function batchInnermost(plan: PlanBuilder, x: Tensor, label: string): Promise<Tensor> {
  if (x.shape.length !== 4) throw new Error(`${label}: expected an [N, C, H, W] tensor, found "${x.label}" [${x.shape.join(', ')}]`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const HW = H * W;
  const t = plan.tensor(label, [C, H, W, N]);
  plan.add(await nchwToChwnProgram({ N, C, HW }).prepare(plan.gpu, {}, { src: x, dst: t }));
  return t;
}

/** out[c] (+)= sum over n, hw of x[n, c, hw]. */
export async function channelSum(plan: PlanBuilder, x: Tensor, out: Tensor, N: number, C: number, HW: number, accumulate: boolean): Promise<void> {
  checkSize('channel sum input', x, N * C * HW);
  checkSize('channel sum output', out, C);
  plan.add(await channelSumProgram(plan.channelForm({ N, C, HW, size: x.size }, 'sum'), accumulate).prepare(plan.gpu, { N, C, HW }, { x, out }));
}

/**
 * DiffAugment's `policy` on the images x [N, C, H, W] (src/shaders/augment.ts), each image with
 * the draws of row `firstRow + n` of `draws` (u32, DRAWS_PER_IMAGE per row).
 */
export async function augment(plan: PlanBuilder, policy: readonly Augment[], x: Tensor, draws: Tensor, firstRow: number, label: string): Promise<Tensor> {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  if (draws.size < (firstRow + N) * DRAWS_PER_IMAGE) throw new Error(`${label}: ${N} images from row ${firstRow} need ${(firstRow + N) * DRAWS_PER_IMAGE} draws, found ${draws.size}`);
  const y = plan.tensor(label, x.shape);
  plan.add(await augmentForwardProgram(policy).prepare(plan.gpu, { N }, { x, draws, y }, { C, H, W, first_row: firstRow }));
  return y;
}

/** The gradient through `augment` with the same draws. */
export async function augmentBackward(plan: PlanBuilder, policy: readonly Augment[], dy: Tensor, draws: Tensor, firstRow: number, label: string): Promise<Tensor> {
  const [N, C, H, W] = dy.shape as [number, number, number, number];
  const dx = plan.tensor(label, dy.shape);
  plan.add(await augmentBackwardProgram(policy).prepare(plan.gpu, { N }, { dy, draws, dx }, { C, H, W, first_row: firstRow }));
  return dx;
}
