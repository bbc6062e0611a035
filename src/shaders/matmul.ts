/**
 * Matmul C[M,N] (+)= op(A)·op(B), float32, row-major. op(A) is A stored [M,K], or with `transA`
 * A stored [K,M]; op(B) is B stored [K,N], or with `transB` B stored [N,K]. Transposes are index
 * arithmetic, never copies. `accumulate` adds into C (gradients of D's real and fake passes).
 *
 * Variants, side by side, same bindings and parameters, selectable by name:
 *  - `naive`: one output per thread; any shape. The reference the others are checked against.
 *  - `vec4_8x8`: each thread keeps an 8x8 block of C in registers, reads A and B as vec4 and uses
 *    no workgroup memory: on both CPU adapters this beat shared-memory tiling 3-4x. Workgroups
 *    of 8x8 threads. Now generated as the block family's 8x8 member, differing from block_8x8
 *    only for A B^T. Needs the dimension read contiguously to be a multiple of 4.
 *  - `block_TMxTN` (block_8x8, block_16x8, block_16x16, block_32x16, ...): the register-blocked
 *    family, generated: each thread keeps a TM x TN block of C and K is unrolled by 4 so that
 *    every operand load is a vec4, whichever way each operand is contiguous (A rows along K, or
 *    A^T along M; B along N, or B^T along K, where the products become dot()s). Bigger blocks
 *    raise the CPU adapters' ceiling (fewer loads per multiply-add) but leave small GEMMs with
 *    few workgroups, so the best block depends on the shape: the autotuner picks per shape.
 *  - `blockdot_TMxTN` (8x8, 16x16, 32x16): the same blocks with each output's four k terms taken
 *    as one dot() of two k-vectors in every layout (row i's from A, column j's gathered from
 *    B's vec4s), where block_ sums them along N. SwiftShader runs it faster, llvmpipe does not
 *    (`prefersDotProducts`); the sums differ by rounding only.
 *  - `tiled_4x4`, `tiled_8x8`: the classic GPU kernel: a 16x16 workgroup computes a 64x64
 *    (128x128) tile of C, staging 16-deep slices of A and B in workgroup memory per K step,
 *    4x4 (8x8) outputs per thread in registers; any shape. What real GPUs reward (shared-memory reuse); on the CPU adapters it
 *    is slower than vec4_8x8, so `auto` picks it only on hardware adapters.
 *  - `outer_4x4` (K = 1: C = a b^T, a 4x4 block of products per thread) and `gemv_vec4` (M = 1:
 *    a row vector times B, four columns per thread): vec4 loads and stores where the register
 *    blocks cannot go (they step K by 4 and read A^T four rows at a time). D's Linear(6272, 1)
 *    backward is both: dx = dy W (K = 1) and dW = dy^T x (M = 1).
 *  - `rowdot_vec4` (A B^T with few columns: its forward, N = 1): an output per thread, a dot()
 *    of A's row and B^T's row a vec4 at a time, workgroups of 16 rows. The register blocks
 *    leave all but one of their columns idle there, a workgroup per output (dot_wg64) pays a
 *    tree reduction per output.
 *  - `splitk_4x4` (tiled) and `splitk_8x8` (block_8x8's registers): K cut into slices run as
 *    grid z, each slice's partial C summed by `splitk_reduce`, for a C too small to occupy the
 *    adapter over a long K (the weight gradients: D's 1-channel convolution, 64x16 outputs over
 *    K = 25,088, is one workgroup of block_16x8 on a 2-core CPU).
 */
import { program as newProgram, type AnyProgram, type BindingLayout, type Program } from '../gpu/program.js';
import { fusedApply, fusedConstants, fusedFns, fusedName, type FusedActivation } from './activation.js';
import { FLAT_ID, grid1d } from './common.js';

/** Register blocks (rows x columns of C per thread) of the generated `block_` variants. */
export const BLOCKS = [
  [8, 8],
  [16, 8],
  [8, 16],
  [16, 16],
  [32, 16],
  [16, 32],
  [32, 32],
] as const;
type BlockName = `block_${(typeof BLOCKS)[number][0]}x${(typeof BLOCKS)[number][1]}`;
/**
 * The blocks that also come as `blockdot_TMxTN`: the same loads, each output's four k terms a
 * dot() of two k-vectors in every layout (block_ does that only for A B^T, where both operands
 * run along K). SwiftShader runs that form at 0.74x the time (NN); llvmpipe does not gain.
 */
export const DOT_BLOCKS = [
  [8, 8],
  [16, 16],
  [32, 16],
] as const;
type DotBlockName = `blockdot_${(typeof DOT_BLOCKS)[number][0]}x${(typeof DOT_BLOCKS)[number][1]}`;

export const MATMUL_VARIANTS = [
  'naive', 'scalar_4x4', 'dot_wg64', 'outer_4x4', 'gemv_vec4', 'rowdot_vec4', 'vec4_8x8', 'tiled_4x4', 'tiled_8x8', 'splitk_4x4', 'splitk_8x8',
  ...BLOCKS.map(([m, n]) => `block_${m}x${n}` as BlockName),
  ...DOT_BLOCKS.map(([m, n]) => `blockdot_${m}x${n}` as DotBlockName),
] as const;
export type MatmulVariant = 'naive' | 'scalar_4x4' | 'dot_wg64' | 'outer_4x4' | 'gemv_vec4' | 'rowdot_vec4' | 'vec4_8x8' | 'tiled_4x4' | 'tiled_8x8' | 'splitk_4x4' | 'splitk_8x8' | BlockName | DotBlockName;

/**
 * A matmul variant as one object: its kernel source, workgroup size and the tile of C one
 * workgroup covers, from which its dispatch grid follows, and the shapes it handles. The
 * uniform layout is shared by all variants (matmulParams).
 */
export interface MatmulProgram {
  variant: MatmulVariant;
  workgroupSize: readonly number[];
  /** Outputs of C per workgroup: rows (M) and columns (N). */
  tile: { m: number; n: number };
  supports(shape: MatmulShape, o?: MatmulOptions): boolean;
  /**
   * Only for CPU adapters: block_32x32 with accumulate fails pipeline creation on NVIDIA's
   * Vulkan driver (VK_ERROR_UNKNOWN, H200, driver 580) and takes 12-17 s to compile without.
   */
  softwareOnly?: boolean;
  /**
   * Split-K programs: how many K slices run as grid z for this shape. Their kernel writes each
   * slice's partial C to a scratch buffer [slices, M, N] bound in C's place, and
   * splitKReduceKernel sums the slices into C (src/layers/matmul-prepare.ts does both).
   */
  splitK?: (shape: MatmulShape) => number;
  /** The GPU program for a layout and epilogue (bindings A, B, C and, with a bias, bias). */
  program(o?: MatmulOptions): Program<MatmulDispatchShape, typeof MATMUL_UNIFORMS>;
  grid(shape: MatmulDispatchShape): [number, number, number];
}

/** A matmul dispatch: its GEMM shape and, for split-K programs, the K slices (grid z). */
export type MatmulDispatchShape = MatmulShape & { slices?: number };

/** M, N, K and, for split-K programs, the K-slice length Ks. */
export const MATMUL_UNIFORMS = { M: 'u32', N: 'u32', K: 'u32', Ks: 'u32' } as const;

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
}

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  accumulate?: boolean;
  /**
   * Epilogue: add bias[row] (a conv's output channel) or bias[col] (a Linear's output feature)
   * to each result before it is stored; the bias is bound after C.
   */
  bias?: 'row' | 'col';
  /**
   * Epilogue: C[row, col] with col = (n, hw) is stored as NCHW, at (n M + row) HW + hw: a
   * convolution's [Cout, N Ho Wo] product lands in its output tensor with no permute kernel.
   */
  nchwHW?: number;
  /** Epilogue: an activation applied after the bias (a Conv2d or Linear followed by one). Not with `accumulate`. */
  activation?: FusedActivation;
  /**
   * Operands read from NCHW tensors, the way `nchwHW` stores C: op(A) [M, K] with k = (n, hw)
   * is A[(n M + m) HW + hw] (`aNchwHW`, not with transA); op(B) [K, N] with n = (n, hw) is
   * B[(n K + k) HW + hw] (`bNchwHW`, not with transB). An explicit convolution's dy or input
   * then needs no permute to [C, N HW] before its GEMMs: the same values in the same order.
   */
  aNchwHW?: number;
  bNchwHW?: number;
}

/** The layout part of a kernel's name: transposes, accumulate, epilogue. */
export function layoutTag(o: MatmulOptions): string {
  const operands = `${o.aNchwHW ? `.a_nchw${o.aNchwHW}` : ''}${o.bNchwHW ? `.b_nchw${o.bNchwHW}` : ''}`;
  return `${o.transA ? 'T' : 'N'}${o.transB ? 'T' : 'N'}${o.accumulate ? '+' : ''}${operands}${o.bias ? `.bias_${o.bias}` : ''}${o.nchwHW ? `.nchw${o.nchwHW}` : ''}${fusedName(o.activation)}`;
}


/** The dimensions each operand is read along as vec4 must be multiples of 4. */
function vec4Layout({ M, N, K }: MatmulShape, o: MatmulOptions = {}): boolean {
  const aInner = o.transA ? M : K;
  const bInner = o.transB ? K : N;
  // K too, in every layout: the register blocks step K four at a time (with A^T, four rows of A).
  // An NCHW operand is contiguous along its inner dimension only within a sample's HW values.
  return aInner % 4 === 0 && bInner % 4 === 0 && K % 4 === 0 && (o.aNchwHW ?? 4) % 4 === 0 && (o.bNchwHW ?? 4) % 4 === 0;
}

/** A variant's kernel source for a layout: helpers and the entry point, and whether A and B are read as vec4. */
interface MatmulCode {
  wgsl: string;
  main: string;
  vec4?: boolean;
}

function variantProgram(
  variant: MatmulVariant,
  workgroupSize: readonly number[],
  /** Outputs of C per workgroup: rows (M) and columns (N). */
  tile: { m: number; n: number },
  code: (o: MatmulOptions, workgroupSize: readonly number[]) => MatmulCode,
  supports: (shape: MatmulShape, o?: MatmulOptions) => boolean,
  softwareOnly = false,
): MatmulProgram {
  const grid = ({ M, N, slices = 1 }: MatmulDispatchShape): [number, number, number] => [Math.ceil(N / tile.n), Math.ceil(M / tile.m), slices];
  return {
    variant,
    workgroupSize,
    tile,
    supports,
    softwareOnly,
    program: (o = {}) => {
      for (const [name, hw] of [['nchwHW', o.nchwHW], ['aNchwHW', o.aNchwHW], ['bNchwHW', o.bNchwHW]] as const) {
        if (hw !== undefined && (!Number.isInteger(hw) || hw < 1)) throw new Error(`matmul ${name}: expected a positive integer, found ${hw}`);
      }
      if (o.activation && o.accumulate) throw new Error(`matmul ${variant}: an activation epilogue cannot accumulate (act(a) + act(b) is not act(a + b))`);
      for (const [name, hw, trans] of [['aNchwHW', o.aNchwHW, o.transA], ['bNchwHW', o.bNchwHW, o.transB]] as const) {
        if (hw !== undefined && trans) throw new Error(`matmul ${variant}: ${name} reads an untransposed operand (${name[0]!.toUpperCase()} from NCHW), not with trans${name[0]!.toUpperCase()}`);
      }
      const c = code(o, workgroupSize);
      const operand = c.vec4 ? { access: 'read', type: 'array<vec4<f32>>' } as const : 'read';
      return newProgram({
        name: `matmul.${variant}.${layoutTag(o)}`,
        workgroupSize,
        uniforms: MATMUL_UNIFORMS,
        bindings: { A: operand, B: operand, C: 'read_write', ...(o.bias ? { bias: 'read' } : {}) } as BindingLayout,
        constants: fusedConstants(o.activation),
        wgsl: c.wgsl + epilogueDecls(o),
        main: c.main,
        grid,
        flops: ({ M, N, K }) => 2 * M * N * K,
      });
    },
    grid,
  };
}

const any = () => true;

/** 64x64 tiles of C: a split-K GEMM runs this many tiles per K slice. */
const tiles64 = ({ M, N }: MatmulShape) => Math.ceil(M / 64) * Math.ceil(N / 64);

/** Split K when C has too few tiles to fill a GPU (< 128) and K is long enough to share. */
function splitKWorthIt(shape: MatmulShape, o: MatmulOptions = {}): boolean {
  return shape.K >= 512 && tiles64(shape) < 128 && !hasEpilogue(o);
}

/** Whether C's store does more than store or add (bias, NCHW index, activation). */
export function hasEpilogue(o: MatmulOptions): boolean {
  return !!(o.bias || o.nchwHW || o.activation);
}

/** Slices for ~256 workgroups in all, each at least 256 deep. */
export function splitKSlices(shape: MatmulShape): number {
  const wanted = Math.ceil(256 / tiles64(shape));
  return Math.max(2, Math.min(wanted, Math.floor(shape.K / 256)));
}

export const SPLITK_REDUCE_WG = 256;

/** C[i] (+)= sum over slices s of P[s, i] (MN values, S slices): the second half of a split-K matmul. */
export function splitKReduceProgram(accumulate: boolean) {
  return newProgram({
    name: `matmul.splitk_reduce${accumulate ? '+' : ''}`,
    workgroupSize: [SPLITK_REDUCE_WG],
    uniforms: { MN: 'u32', S: 'u32' },
    bindings: { P: 'read', C: 'read_write' },
    wgsl: FLAT_ID,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i >= params.MN) { return; }
  var acc = 0.0;
  for (var s = 0u; s < params.S; s++) { acc += P[s * params.MN + i]; }
  ${accumulate ? 'C[i] += acc;' : 'C[i] = acc;'}
}`,
    grid: ({ MN }: { MN: number }, max: number) => grid1d(MN, SPLITK_REDUCE_WG, max),
  });
}
export const MATMUL_PROGRAMS: Record<MatmulVariant, MatmulProgram> = Object.fromEntries([
  ['naive', variantProgram('naive', [8, 8], { m: 8, n: 8 }, naive, any)],
  // Register blocking with scalar loads, for layouts the vec4 family cannot read (an inner
  // dimension not a multiple of 4: the conditional D's 11-output Linear in dx and dW).
  ['scalar_4x4', variantProgram('scalar_4x4', [8, 8], { m: 32, n: 32 }, (o) => registerBlockedScalar(o, 4, 4), any)],
  // One workgroup of 64 invocations per output: grid N x M, each at most 65535.
  ['dot_wg64', variantProgram('dot_wg64', [64], { m: 1, n: 1 }, dotWorkgroup, ({ M, N }) => M <= 65535 && N <= 65535)],
  // Degenerate shapes: K = 1 (both operands are vectors, the same memory whatever their layout)
  // and M = 1 (A is one row, the same memory stored either way; B read along N).
  ['outer_4x4', variantProgram('outer_4x4', [8, 8], { m: 32, n: 32 }, outerProduct, ({ M, N, K }, o = {}) => K === 1 && M % 4 === 0 && N % 4 === 0 && !o.aNchwHW && !o.bNchwHW)],
  ['gemv_vec4', variantProgram('gemv_vec4', [64], { m: 1, n: 256 }, rowTimesMatrix, ({ M, N, K }, o = {}) => M === 1 && N % 4 === 0 && K % 4 === 0 && !o.transB && !o.aNchwHW && !o.bNchwHW)],
  ['rowdot_vec4', variantProgram('rowdot_vec4', [16], { m: 16, n: 1 }, rowDots, ({ M, N, K }, o = {}) => !o.transA && !!o.transB && K % 4 === 0 && N <= 65535 && Math.ceil(M / 16) <= 65535 && !o.aNchwHW)],
  // The first register-blocked kernel, kept by name: block_8x8 but for A B^T, where it builds
  // vec4s of B^T instead of taking dot()s (faster for K = 16, slower for long K).
  ['vec4_8x8', variantProgram('vec4_8x8', [8, 8], { m: 64, n: 64 }, (o) => registerBlocked(o, 8, 8, 'sum'), vec4Layout)],
  ['tiled_4x4', variantProgram('tiled_4x4', [16, 16], { m: 64, n: 64 }, (o, wg) => tiled(o, 4, 4, wg), any)],
  ['tiled_8x8', variantProgram('tiled_8x8', [16, 16], { m: 128, n: 128 }, (o, wg) => tiled(o, 8, 8, wg), any)],
  ['splitk_4x4', { ...variantProgram('splitk_4x4', [16, 16], { m: 64, n: 64 }, (o, wg) => tiled(o, 4, 4, wg, true), splitKWorthIt), splitK: splitKSlices }],
  ['splitk_8x8', { ...variantProgram('splitk_8x8', [8, 8], { m: 64, n: 64 }, (o) => registerBlocked(o, 8, 8, 'dotNT', true), (shape, o) => vec4Layout(shape, o) && splitKWorthIt(shape, o)), splitK: splitKSlices }],
  ...BLOCKS.map(([tm, tn]) => {
    const name = `block_${tm}x${tn}` as BlockName;
    // The biggest block has no epilogue: llvmpipe spent 52 s compiling block_32x32 with a
    // per-column bias (NT), against well under a second for the others.
    const huge = tm * tn > 512;
    const supports = huge ? (shape: MatmulShape, o: MatmulOptions = {}) => vec4Layout(shape, o) && !hasEpilogue(o) : vec4Layout;
    return [name, variantProgram(name, [8, 8], { m: 8 * tm, n: 8 * tn }, (o) => registerBlocked(o, tm, tn), supports, huge)];
  }),
  // For A B^T the dot form is block_'s own code: not a variant there.
  ...DOT_BLOCKS.map(([tm, tn]) => {
    const name = `blockdot_${tm}x${tn}` as DotBlockName;
    const supports = (shape: MatmulShape, o: MatmulOptions = {}) => vec4Layout(shape, o) && !(o.transB && !o.transA);
    return [name, variantProgram(name, [8, 8], { m: 8 * tm, n: 8 * tn }, (o) => registerBlocked(o, tm, tn, 'dot'), supports)];
  }),
]) as Record<MatmulVariant, MatmulProgram>;

/** Workgroup grid for a variant and shape. */
export function matmulGrid(variant: MatmulVariant, shape: MatmulDispatchShape): [number, number, number] {
  return MATMUL_PROGRAMS[variant].grid(shape);
}

/** Whether `variant` handles this shape and layout (on a CPU adapter, or a hardware one). */
export function matmulSupports(variant: MatmulVariant, shape: MatmulShape, o: MatmulOptions = {}, software = true): boolean {
  const p = MATMUL_PROGRAMS[variant];
  return p.supports(shape, o) && (software || !p.softwareOnly);
}

/**
 * What `auto` means without tuning (--tune off), from the measurements in docs/benchmarks.md
 * ("Matmul variants"). CPU adapters: outer_4x4 for K = 1 and gemv_vec4 for M = 1 where their
 * layouts allow (0.11-0.52x naive's time), rowdot_vec4 for A B^T with fewer than 4 columns (D's
 * Linear(6272, 1) forward: 0.28x dot_wg64's time on llvmpipe, 0.23x on SwiftShader; at 11
 * columns it loses on SwiftShader, 1.7x scalar_4x4), block_32x16 for the big GEMMs unless K is short (K = 16,
 * the 1-channel convolutions, where few workgroups are left and vec4_8x8 wins), block_32x32 for
 * the big A B^T products over a long K without an epilogue (the conv weight gradients through
 * im2col: 0.82-0.88x block_32x16's time on llvmpipe, 0.87-0.95x on SwiftShader), vec4_8x8 for the
 * rest where the layout allows, else naive (the tuner also races scalar_4x4 there); with `dot`
 * (SwiftShader, prefersDotProducts) blockdot_32x16 where block_32x16 would run outside A B^T. Hardware GPUs (H200, Vulkan): dot_wg64 for few
 * outputs over a long K (Linear 6272->1, the step's top kernel there with naive), split-K where C
 * has too few tiles to fill the GPU (the conv weight gradients, K = N H W), else tiled_4x4.
 */
export function bestMatmulVariant(shape: MatmulShape, o: MatmulOptions = {}, software = true, dot = false): MatmulVariant {
  const outputs = shape.M * shape.N;
  if (!software) return outputs <= 4096 && shape.K >= 1024 ? 'dot_wg64' : shape.K >= 1024 && splitKWorthIt(shape, o) ? 'splitk_4x4' : 'tiled_4x4';
  if (matmulSupports('outer_4x4', shape, o)) return 'outer_4x4';
  if (matmulSupports('gemv_vec4', shape, o)) return 'gemv_vec4';
  if (shape.N < 4 && matmulSupports('rowdot_vec4', shape, o)) return 'rowdot_vec4';
  if (!matmulSupports('vec4_8x8', shape, o)) return 'naive';
  if (outputs < 128 * 1024 || shape.K < 64) return 'vec4_8x8';
  if (o.transB && shape.K >= 1024 && matmulSupports('block_32x32', shape, o)) return 'block_32x32';
  return dot && matmulSupports('blockdot_32x16', shape, o) ? 'blockdot_32x16' : 'block_32x16';
}

/**
 * Whether the fixed choices on this adapter take the register blocks' dot-product form
 * (`blockdot_`, `conv_TMxTN_dot`): on SwiftShader it ran the big GEMMs at 0.74x and the implicit
 * conv GEMMs at 0.77-0.87x the time of the k-sum form; on llvmpipe it lost (0.97-1.16).
 */
export const prefersDotProducts = (adapter: { isSwiftShader: boolean }): boolean => adapter.isSwiftShader;

/** The fixed table's choice for this adapter (`--tune off`, and the fixed entry of every `quick` race). */
export function fixedMatmulVariant(adapter: { isSwiftShader: boolean; isSoftware: boolean }, shape: MatmulShape, o: MatmulOptions = {}): MatmulVariant {
  return bestMatmulVariant(shape, o, adapter.isSoftware, prefersDotProducts(adapter));
}

export function matmulProgram(variant: MatmulVariant, o: MatmulOptions = {}) {
  const p = MATMUL_PROGRAMS[variant];
  if (!p) throw new Error(`matmul variant: expected one of ${MATMUL_VARIANTS.join(', ')}, found "${variant}"`);
  return p.program(o);
}

/** Writes one result of C at (row, col): epilogue (bias, activation, NCHW index), then store or accumulate. */
function store(o: MatmulOptions, row: string, col: string, value: string): string {
  const index = o.nchwHW ? `((${col}) / NCHW_HW * params.M + (${row})) * NCHW_HW + (${col}) % NCHW_HW` : `(${row}) * params.N + (${col})`;
  const v = fusedApply(o.activation, o.bias ? `${value} + bias[${o.bias === 'row' ? row : col}]` : value);
  return o.accumulate ? `C[${index}] += ${v};` : `C[${index}] = ${v};`;
}

/** Declarations the epilogue needs (its bias is a binding), appended to every variant's source. */
function epilogueDecls(o: MatmulOptions): string {
  return [
    o.nchwHW ? `\nconst NCHW_HW: u32 = ${o.nchwHW}u;` : '',
    o.aNchwHW ? `\nconst A_HW: u32 = ${o.aNchwHW}u;` : '',
    o.bNchwHW ? `\nconst B_HW: u32 = ${o.bNchwHW}u;` : '',
    fusedFns(o.activation),
  ].join('');
}

/** op(A)(row, k) and op(B)(k, col) as scalar loads, for the kernels that read one value at a time. */
function scalarOperands(o: MatmulOptions, row = 'row', col = 'col', k = 'k', M = 'params.M', N = 'params.N', K = 'params.K'): { a: string; b: string } {
  return {
    a: o.transA ? `A[${k} * ${M} + ${row}]` : o.aNchwHW ? `A[(${k} / A_HW * ${M} + ${row}) * A_HW + ${k} % A_HW]` : `A[${row} * ${K} + ${k}]`,
    b: o.transB ? `B[${col} * ${K} + ${k}]` : o.bNchwHW ? `B[(${col} / B_HW * ${K} + ${k}) * B_HW + ${col} % B_HW]` : `B[${k} * ${N} + ${col}]`,
  };
}

function naive(o: MatmulOptions): MatmulCode {
  const { a, b } = scalarOperands(o);
  return { wgsl: '', main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x;
  let row = gid.y;
  if (row >= params.M || col >= params.N) { return; }
  var acc = 0.0;
  for (var k = 0u; k < params.K; k++) {
    acc += ${a} * ${b};
  }
  ${store(o, 'row', 'col', 'acc')}
}` };
}

/**
 * Shared-memory tiling for hardware GPUs: a 16x16 workgroup computes a (16 TM) x (16 TN) tile of
 * C, staging (16 TM) x 16 of op(A) and 16 x (16 TN) of op(B) in workgroup memory per K step,
 * TM x TN outputs per thread in registers. A thread owns rows ly + 16 r and columns lx + 16 c
 * (strided), so neighbouring threads read neighbouring words of the B tile (no bank conflicts)
 * and the same word of the A tile (a broadcast). Loads outside the matrices read 0, so any M, N,
 * K works; barriers sit in uniform control flow (no early return).
 */
function tiled(o: MatmulOptions, TM: number, TN: number, workgroupSize: readonly number[], split = false): MatmulCode {
  const [WX, WY] = workgroupSize as [number, number];
  if (WX !== 16 || WY !== 16) throw new Error(`matmul tiled: written for 16x16 workgroups (a 16-deep K slice per step), found ${WX}x${WY}`);
  const BM = WY * TM;
  const BN = WX * TN;
  // Split-K: workgroup z covers K in [z Ks, (z + 1) Ks) and writes its partial C to slice z.
  const kEnd = split ? 'kEnd' : 'params.K';
  const { a, b } = scalarOperands(o, 'm', 'n');
  return { wgsl: /* wgsl */ `
var<workgroup> As: array<f32, ${BM * 16}>;  // [${BM} rows][16 k]
var<workgroup> Bs: array<f32, ${BN * 16}>;  // [16 k][${BN} cols]

fn load_a(m: u32, k: u32, kEnd: u32) -> f32 {
  if (m < params.M && k < kEnd) { return ${a}; }
  return 0.0;
}
fn load_b(k: u32, n: u32, kEnd: u32) -> f32 {
  if (k < kEnd && n < params.N) { return ${b}; }
  return 0.0;
}`, main: /* wgsl */ `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = wid.y * ${BM}u;
  let col0 = wid.x * ${BN}u;
  let t = lid.y * WG_X + lid.x;
  ${split ? 'let kBegin = wid.z * params.Ks; let kEnd = min(params.K, kBegin + params.Ks);' : 'let kBegin = 0u;'}
  var acc: array<f32, ${TM * TN}>;
  for (var k0 = kBegin; k0 < ${kEnd}; k0 += 16u) {
    for (var i = 0u; i < ${TM}u; i++) {
      let e = t + i * 256u;
      As[e] = load_a(row0 + e / 16u, k0 + e % 16u, ${kEnd});
    }
    for (var i = 0u; i < ${TN}u; i++) {
      let e = t + i * 256u;
      Bs[e] = load_b(k0 + e / ${BN}u, col0 + e % ${BN}u, ${kEnd});
    }
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) {
      var av: array<f32, ${TM}>;
      for (var r = 0u; r < ${TM}u; r++) { av[r] = As[(lid.y + 16u * r) * 16u + k]; }
      for (var c = 0u; c < ${TN}u; c++) {
        let bv = Bs[k * ${BN}u + lid.x + 16u * c];
        for (var r = 0u; r < ${TM}u; r++) { acc[r * ${TN}u + c] += av[r] * bv; }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < ${TM}u; r++) {
    let row = row0 + lid.y + 16u * r;
    for (var c = 0u; c < ${TN}u; c++) {
      let col = col0 + lid.x + 16u * c;
      if (row < params.M && col < params.N) { ${split ? `C[(wid.z * params.M + row) * params.N + col] = acc[r * ${TN}u + c];` : store(o, 'row', 'col', `acc[r * ${TN}u + c]`)} }
    }
  }
}` };
}

/**
 * One workgroup of 64 threads per element of C: the threads stride over K and a tree reduction
 * in workgroup memory sums their partial dots (fixed order: deterministic). For the skinny
 * shapes with few outputs and a long K (Linear 6272->1, the weight gradients of the 1-channel
 * convolutions), where a tiled kernel leaves all but a few workgroups idle.
 */
function dotWorkgroup(o: MatmulOptions): MatmulCode {
  const { a, b } = scalarOperands(o);
  return {
    wgsl: 'var<workgroup> part: array<f32, WG_X>;',
    main: /* wgsl */ `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let col = wid.x;
  let row = wid.y;
  var acc = 0.0;
  for (var k = t; k < params.K; k += WG_X) {
    acc += ${a} * ${b};
  }
  part[t] = acc;
  workgroupBarrier();
  // Lanes at and past K hold +0: the halvings that would only add those start below K (K is
  // uniform, so every invocation skips the same barriers; SwiftShader pays per barrier).
  var first = WG_X / 2u;
  while (first >= params.K && first > 0u) { first >>= 1u; }
  for (var s = first; s > 0u; s >>= 1u) {
    if (t < s) { part[t] += part[t + s]; }
    workgroupBarrier();
  }
  if (t == 0u) { ${store(o, 'row', 'col', 'part[0]')} }
}`,
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** K = 1: C[m, n] = A[m] B[n], a 4x4 block per thread (A and B are vectors, read as vec4). */
function outerProduct(o: MatmulOptions): MatmulCode {
  const stores = range(4).flatMap((r) => range(4).map((c) => store(o, `m0 + ${r}u`, `n0 + ${c}u`, `a[${r}] * b[${c}]`)));
  return { vec4: true, wgsl: '', main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  if (m0 >= params.M || n0 >= params.N) { return; }
  let a = A[gid.y];
  let b = B[gid.x];
  ${stores.join('\n  ')}
}` };
}

/**
 * M = 1: C[0, n] = sum over k of A[k] B(k, n), four columns per thread, A read as vec4 along K,
 * B along N; the sum runs over k in order, as naive's does.
 */
function rowTimesMatrix(o: MatmulOptions): MatmulCode {
  return { vec4: true, wgsl: '', main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n4 = gid.x;
  let N4 = params.N / 4u;
  if (n4 >= N4) { return; }
  var acc = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < params.K / 4u; k4++) {
    let a = A[k4];
    let k = k4 * 4u;
    acc += a[0] * B[k * N4 + n4];
    acc += a[1] * B[(k + 1u) * N4 + n4];
    acc += a[2] * B[(k + 2u) * N4 + n4];
    acc += a[3] * B[(k + 3u) * N4 + n4];
  }
  ${range(4).map((c) => store(o, '0u', `n4 * 4u + ${c}u`, `acc[${c}]`)).join('\n  ')}
}` };
}

/** C[row, col] = dot of A's row and B^T's row (A [M,K], B^T [N,K]), a vec4 of each per step; a workgroup of rows per column. */
function rowDots(o: MatmulOptions): MatmulCode {
  return { vec4: true, wgsl: '', main: /* wgsl */ `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let col = wid.x;
  let row = wid.y * WG_X + lid;
  if (row >= params.M) { return; }
  let K4 = params.K / 4u;
  var acc = 0.0;
  for (var k4 = 0u; k4 < K4; k4++) {
    acc += dot(A[row * K4 + k4], B[col * K4 + k4]);
  }
  ${store(o, 'row', 'col', 'acc')}
}` };
}

/**
 * The register-blocked family: a TM x TN block of C per thread (TM, TN multiples of 4), K in
 * steps of 4, every load a vec4. Per k-step, op(A) and op(B) values are named by layout:
 *  - A [M,K]: a{i} = row i's 4 k-values;        A^T [K,M]: a{kk}_{i4} = 4 rows at k = kk
 *  - B [K,N]: b{kk}_{j4} = 4 columns at k = kk;  B^T [N,K]: b{j} = column j's 4 k-values
 * Accumulators are vec4 along N (acc{i}_{j4}); with A [M,K] and B^T both operands run along K and
 * each output is a sum of dot()s. `form`: `dotNT` takes dot()s there and k-sums along N in the
 * other layouts (block_), `dot` takes dot()s of k-vectors in every layout (blockdot_), `sum`
 * never (vec4_8x8). Rows and columns past the edge are clamped (computed, never stored).
 */
function registerBlocked(o: MatmulOptions, TM: number, TN: number, form: 'sum' | 'dotNT' | 'dot' = 'dotNT', split = false): MatmulCode {
  const I = range(TM);
  const J4 = range(TN / 4);
  const a = blockOperandA(o, TM);
  const b = blockOperandB(o, TN);
  return { vec4: true, wgsl: '', main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = params.M;
  let N = params.N;
  let K4 = params.K / 4u;
  let row0 = gid.y * ${TM}u;
  let col0 = gid.x * ${TN}u;
  if (row0 >= M || col0 >= N) { return; }
  ${[...a.setup, ...b.setup].join('\n  ')}
  ${I.flatMap((i) => J4.map((j4) => `var acc${i}_${j4} = vec4<f32>(0.0);`)).join('\n  ')}
  ${split ? `let k4Begin = gid.z * (params.Ks / 4u);
  let k4End = min(K4, k4Begin + params.Ks / 4u);
  let zoff = gid.z * M * N;
  for (var k4 = k4Begin; k4 < k4End; k4++) {` : 'for (var k4 = 0u; k4 < K4; k4++) {'}
    ${[...a.loads, ...b.loads].join('\n    ')}
    ${blockMultiplyAdds(o, TM, TN, form).join('\n    ')}
  }
  ${blockStores(o, TM, TN, split).join('\n  ')}
}` };
}

/** A register block's reads of one operand: `setup` before the K loop, `loads` per k-step. */
interface BlockReads {
  setup: string[];
  loads: string[];
}

/** op(A)'s reads for a block of TM rows, named as registerBlocked says. */
function blockOperandA(o: MatmulOptions, TM: number): BlockReads {
  const I = range(TM);
  const setup: string[] = [];
  const loads: string[] = [];
  if (o.transA) {
    setup.push('let M4 = M / 4u;');
    for (const i4 of range(TM / 4)) setup.push(`let ra${i4} = min(row0 / 4u + ${i4}u, M4 - 1u);`);
    for (const kk of range(4)) for (const i4 of range(TM / 4)) loads.push(`let a${kk}_${i4} = A[(k4 * 4u + ${kk}u) * M4 + ra${i4}];`);
  } else if (o.aNchwHW) {
    // Row m's four k-values at k4 are sample k4 / HW4's pixels (k4 % HW4) * 4 ..: one vec4.
    setup.push('let A_HW4 = A_HW / 4u;');
    for (const i of I) setup.push(`let r${i} = min(row0 + ${i}u, M - 1u) * A_HW4;`);
    loads.push('let ka = k4 / A_HW4 * M * A_HW4 + k4 % A_HW4;');
    for (const i of I) loads.push(`let a${i} = A[r${i} + ka];`);
  } else {
    for (const i of I) setup.push(`let r${i} = min(row0 + ${i}u, M - 1u) * K4;`);
    for (const i of I) loads.push(`let a${i} = A[r${i} + k4];`);
  }
  return { setup, loads };
}

/** op(B)'s reads for a block of TN columns, named as registerBlocked says. */
function blockOperandB(o: MatmulOptions, TN: number): BlockReads {
  const J4 = range(TN / 4);
  const setup: string[] = [];
  const loads: string[] = [];
  if (o.transB) {
    for (const j of range(TN)) setup.push(`let c${j} = min(col0 + ${j}u, N - 1u) * K4;`);
    for (const j of range(TN)) loads.push(`let b${j} = B[c${j} + k4];`);
  } else if (o.bNchwHW) {
    // Columns 4 c .. 4 c + 3 are sample c / HW4's pixels (c % HW4) * 4 ..: one vec4 per k.
    setup.push('let N4 = N / 4u;', 'let B_HW4 = B_HW / 4u;');
    for (const j4 of J4) setup.push(`let q${j4} = min(col0 / 4u + ${j4}u, N4 - 1u); let c${j4} = q${j4} / B_HW4 * params.K * B_HW4 + q${j4} % B_HW4;`);
    for (const kk of range(4)) for (const j4 of J4) loads.push(`let b${kk}_${j4} = B[(k4 * 4u + ${kk}u) * B_HW4 + c${j4}];`);
  } else {
    setup.push('let N4 = N / 4u;');
    for (const j4 of J4) setup.push(`let c${j4} = min(col0 / 4u + ${j4}u, N4 - 1u);`);
    for (const kk of range(4)) for (const j4 of J4) loads.push(`let b${kk}_${j4} = B[(k4 * 4u + ${kk}u) * N4 + c${j4}];`);
  }
  return { setup, loads };
}

/** One k-step's multiply-adds into the block's accumulators, in `form` (see registerBlocked). */
function blockMultiplyAdds(o: MatmulOptions, TM: number, TN: number, form: 'sum' | 'dotNT' | 'dot'): string[] {
  const I = range(TM);
  const J4 = range(TN / 4);
  const KK = range(4);
  const aAt = (i: number, kk: number) => (o.transA ? `a${kk}_${Math.floor(i / 4)}[${i % 4}]` : `a${i}[${kk}]`);
  const fma: string[] = [];
  if (form === 'dot' || (form === 'dotNT' && !o.transA && o.transB)) {
    // Row i's and column j's four k-values as vec4s (loaded so, or gathered from the loads:
    // free renames where a vec4 is four registers), each output's k terms one dot().
    if (o.transA) for (const i of I) fma.push(`let ak${i} = vec4<f32>(${KK.map((kk) => aAt(i, kk)).join(', ')});`);
    if (!o.transB) for (const j of range(TN)) fma.push(`let bk${j} = vec4<f32>(${KK.map((kk) => `b${kk}_${Math.floor(j / 4)}[${j % 4}]`).join(', ')});`);
    const a = (i: number) => (o.transA ? `ak${i}` : `a${i}`);
    const b = (j: number) => (o.transB ? `b${j}` : `bk${j}`);
    for (const i of I) for (const j4 of J4) {
      const d = range(4).map((jj) => `dot(${a(i)}, ${b(4 * j4 + jj)})`).join(', ');
      fma.push(`acc${i}_${j4} += vec4<f32>(${d});`);
    }
  } else {
    const bAt = (kk: number, j4: number) => (o.transB ? `vec4<f32>(${range(4).map((jj) => `b${4 * j4 + jj}[${kk}]`).join(', ')})` : `b${kk}_${j4}`);
    // Each accumulator takes its four k terms in one expression, left to right: the same sums in
    // the same order as four `+=` (bit for bit), but llvmpipe, which keeps a block's accumulators
    // spilled on the stack (512 floats for 32x16, each a SIMD register's worth of invocations),
    // reloads and stores each once per 4 k instead of four times: 0.66-0.77x the time of the
    // four-statement form on llvmpipe, unchanged on SwiftShader (docs/benchmarks.md).
    for (const i of I) for (const j4 of J4) fma.push(`acc${i}_${j4} = acc${i}_${j4} + ${KK.map((kk) => `${aAt(i, kk)} * ${bAt(kk, j4)}`).join(' + ')};`);
  }
  return fma;
}

/**
 * The block's epilogue. Its index and bias terms are hoisted: one per row and one per column of
 * the block, not one per output (per-output NCHW divisions made llvmpipe's compile take minutes).
 */
function blockStores(o: MatmulOptions, TM: number, TN: number, split: boolean): string[] {
  const stores: string[] = [];
  const J = range(TN);
  if (o.nchwHW) {
    for (const j of J) stores.push(`let cix${j} = (col0 + ${j}u) / NCHW_HW * M * NCHW_HW + (col0 + ${j}u) % NCHW_HW;`);
  } else {
    for (const j of J) stores.push(`let cix${j} = col0 + ${j}u;`);
  }
  if (o.bias === 'col') for (const j of J) stores.push(`let bc${j} = bias[min(col0 + ${j}u, N - 1u)];`);
  for (const i of range(TM)) {
    stores.push(`if (row0 + ${i}u < M) {`, `  let rix = (row0 + ${i}u) * ${o.nchwHW ? 'NCHW_HW' : 'N'};`);
    if (o.bias === 'row') stores.push(`  let br = bias[row0 + ${i}u];`);
    for (const j4 of range(TN / 4)) for (const jj of range(4)) {
      const j = 4 * j4 + jj;
      const v = fusedApply(o.activation, `acc${i}_${j4}[${jj}]${o.bias === 'row' ? ' + br' : o.bias === 'col' ? ` + bc${j}` : ''}`);
      // Split-K: slice z's partial C at z M N, summed (and accumulated) by splitk_reduce.
      stores.push(split ? `  if (col0 + ${j}u < N) { C[zoff + rix + cix${j}] = ${v}; }` : `  if (col0 + ${j}u < N) { C[rix + cix${j}] ${o.accumulate ? '+=' : '='} ${v}; }`);
    }
    stores.push('}');
  }
  return stores;
}

/**
 * A TM x TN block of C per thread like registerBlocked, for any M, N, K: every operand load is a
 * scalar (TM of op(A) and TN of op(B) per k, reused TN and TM times), rows and columns past the
 * edge clamped (computed, never stored).
 */
function registerBlockedScalar(o: MatmulOptions, TM: number, TN: number): MatmulCode {
  const I = range(TM);
  const J = range(TN);
  const a = (i: number) => scalarOperands(o, `r${i}`, 'col', 'k', 'M', 'N', 'K').a;
  const b = (j: number) => scalarOperands(o, 'row', `c${j}`, 'k', 'M', 'N', 'K').b;
  return { wgsl: '', main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let row0 = gid.y * ${TM}u;
  let col0 = gid.x * ${TN}u;
  if (row0 >= M || col0 >= N) { return; }
  ${I.map((i) => `let r${i} = min(row0 + ${i}u, M - 1u);`).join('\n  ')}
  ${J.map((j) => `let c${j} = min(col0 + ${j}u, N - 1u);`).join('\n  ')}
  ${I.flatMap((i) => J.map((j) => `var acc${i}_${j} = 0.0;`)).join('\n  ')}
  for (var k = 0u; k < K; k++) {
    ${I.map((i) => `let a${i} = ${a(i)};`).join('\n    ')}
    ${J.map((j) => `let b${j} = ${b(j)};`).join('\n    ')}
    ${I.flatMap((i) => J.map((j) => `acc${i}_${j} += a${i} * b${j};`)).join('\n    ')}
  }
  ${I.flatMap((i) => J.map((j) => `if (row0 + ${i}u < M && col0 + ${j}u < N) { ${store(o, `row0 + ${i}u`, `col0 + ${j}u`, `acc${i}_${j}`)} }`)).join('\n  ')}
}` };
}

/** Every variant in every layout, with and without an epilogue where it has one, for the program test. */
export const MATMUL_PROGRAM_LIST: AnyProgram[] = Object.values(MATMUL_PROGRAMS).flatMap((p): AnyProgram[] =>
  [{}, { transA: true }, { transB: true }, { accumulate: true }, { bias: 'col' as const, activation: { op: 'relu' as const, slope: 0 } }, { nchwHW: 4, bias: 'row' as const }, { aNchwHW: 4, transB: true }, { bNchwHW: 4, transA: true }]
    // Split-K programs exist only for a long K.
    .filter((o) => p.supports({ M: 8, N: 8, K: p.splitK ? 1024 : 8 }, o))
    .map((o) => p.program(o)),
).concat([splitKReduceProgram(false), splitKReduceProgram(true)] as AnyProgram[]);
