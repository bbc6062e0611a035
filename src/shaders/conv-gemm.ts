/**
 * Implicit-GEMM convolutions: the six GEMMs of Conv2d and ConvTranspose2d (forward, input
 * gradient, weight gradient) read their operands straight from NCHW tensors and write NCHW, so
 * no im2col/col2im buffer and no permute kernel exists. Each GEMM is one of three forms over the
 * geometry of src/shaders/conv.ts (an "image" of C x H x W, a "grid" of G x Ho x Wo, image row =
 * grid row * s - p + kh):
 *
 *  - `forward` (Conv2d forward, ConvTranspose2d dx): out[nb, g, oh, ow] = sum over (c, kh, kw) of
 *    A[g, c, kh, kw] image[nb, c, oh s - p + kh, ow s - p + kw] (+ bias[g]).
 *    GEMM M = G, N = Nb Ho Wo, K = C k k.
 *  - `weight` (the weight gradients): out[g, c, kh, kw] (+)= sum over (nb, oh, ow) of
 *    grid[nb, g, oh, ow] image[nb, c, oh s - p + kh, ow s - p + kw].  M = G, N = C k k, K = Nb Ho Wo.
 *  - `transposed` (Conv2d dx, ConvTranspose2d forward): out[nb, c, ih, iw] = sum over the taps
 *    that reach (ih, iw) of A[g, c, kh, kw] grid[nb, g, oh, ow] (+ bias[c]). Only taps with
 *    kh = (ih + p) mod s reach a pixel, so the pixels split into s x s phases (grid z), each a
 *    dense GEMM with M = C, N = Nb ceil(H/s) ceil(W/s), K = G ceil(k/s)^2: no multiply by a
 *    structural zero, unlike a GEMM over col followed by col2im.
 *
 * Every form is the same register-blocked kernel (a TM x TN block of the output per thread, as
 * the matmul block family). The operand read along rows, A, is read as vec4 along K from a
 * packed [phases, M, K4] copy (K4 = K rounded up to 4, zero-padded): the weights of `forward`
 * are that already when K is a multiple of 4; a small pack kernel makes it for the others (the
 * phase-major weights of `transposed`, the grid of `weight`). On the CPU adapters every load is a
 * gather across invocations, so one vec4 load instead of four scalar ones is what lifted these
 * kernels most (docs/benchmarks.md, "Convolution paths and fusions"). The other operand, B, is gathered: B(k, n) =
 * B[colB(n) + kB(k)], zero where the tap falls outside the tensor (bounds hB(n) + hK(k),
 * wB(n) + wK(k)); per-column terms are hoisted out of the K loop, per-k terms are shared by the
 * whole block. The geometry is baked in as constants (one pipeline per layer shape), so every
 * division is by a constant; only the sizes that grow with the batch come from a uniform, so
 * one pipeline serves every batch size (convGemmDims).
 */
import { program, type AnyProgram, type BindingLayout, type Program } from '../gpu/program.js';
import { fusedApply, fusedConstants, fusedFns, fusedName, type FusedActivation } from './activation.js';
import type { ConvGeometry } from './conv.js';
import { prefersDotProducts } from './matmul.js';

export const CONV_GEMM_MODES = ['forward', 'weight', 'transposed'] as const;
export type ConvGemmMode = (typeof CONV_GEMM_MODES)[number];

export interface ConvGemmSpec {
  mode: ConvGemmMode;
  /** Image C x H x W, grid Ho x Wo, batch N, kernel k, stride s, padding p. */
  g: ConvGeometry;
  /** The grid tensor's channel count G. */
  G: number;
  /** Add bias[m] (forward, transposed). */
  bias?: boolean;
  /** Add into the output (weight gradients of D's real and fake passes). */
  accumulate?: boolean;
  /** Apply an activation after the bias (forward, transposed: a convolution followed by one). */
  activation?: FusedActivation;
  /**
   * B is bound as its batch-innermost copy [C, H, W, N] (forward: the image; transposed: the
   * grid; convChwnProgram makes it), N a multiple of 4: the GEMM's columns then run (pixel, n)
   * with n innermost, and four columns are one aligned vec4 load of B under one bounds mask.
   */
  batchInner?: boolean;
  /** Register block: output rows (M) and columns (N) per thread. TN is a multiple of 4. */
  tm: number;
  tn: number;
  /** Each output's four k terms as one dot() of k-vectors (`conv_TMxTN_dot`) rather than a sum along N (`prefersDotProducts`). */
  dot?: boolean;
}

export const CONV_GEMM_WG = [8, 8] as const;

/** GEMM dimensions of a spec (per phase for `transposed`) and how many phases run as grid z. */
export function convGemmShape({ mode, g, G }: Pick<ConvGemmSpec, 'mode' | 'g' | 'G'>): { M: number; N: number; K: number; phases: number } {
  const kk = g.k * g.k;
  if (mode === 'forward') return { M: G, N: g.N * g.Ho * g.Wo, K: g.C * kk, phases: 1 };
  if (mode === 'weight') return { M: G, N: g.C * kk, K: g.N * g.Ho * g.Wo, phases: 1 };
  const T = Math.ceil(g.k / g.s);
  return { M: g.C, N: g.N * Math.ceil(g.H / g.s) * Math.ceil(g.W / g.s), K: G * T * T, phases: g.s * g.s };
}

/** Useful flops (2 x multiply-adds that reach the output), for profiles. */
export function convGemmFlops(spec: Pick<ConvGemmSpec, 'mode' | 'g' | 'G'>): number {
  const { g, G } = spec;
  return 2 * g.N * G * g.Ho * g.Wo * g.C * g.k * g.k;
}

export function convGemmGrid(spec: ConvGemmSpec): [number, number, number] {
  const { M, N, phases } = convGemmShape(spec);
  return [Math.ceil(N / (spec.tn * CONV_GEMM_WG[0])), Math.ceil(M / (spec.tm * CONV_GEMM_WG[1])), phases];
}

/** Sizes of the three bound tensors (A, B, out) in floats, for the caller's checks. */
export function convGemmSizes({ mode, g, G }: Pick<ConvGemmSpec, 'mode' | 'g' | 'G'>): { A: number; B: number; out: number } {
  const image = g.N * g.C * g.H * g.W;
  const grid = g.N * G * g.Ho * g.Wo;
  const weight = G * g.C * g.k * g.k;
  if (mode === 'forward') return { A: weight, B: image, out: grid };
  if (mode === 'weight') return { A: grid, B: image, out: weight };
  return { A: weight, B: grid, out: image };
}

/** A conv GEMM without its register block: what a layer asks for. */
export type ConvGemmOp = Omit<ConvGemmSpec, 'tm' | 'tn' | 'dot'>;

/**
 * A register block of the kernel as one object, like the matmul programs: its name, workgroup
 * size and block, from which the outputs per workgroup and the grid follow, and its kernel for
 * an op. Programs are named `conv_TMxTN`; the tuner races them per op (src/layers/matmul-tuner.ts).
 */
export interface ConvGemmProgram {
  name: string;
  workgroupSize: typeof CONV_GEMM_WG;
  block: { tm: number; tn: number; dot: boolean };
  /** The GPU program for an op (uniform: the batch-dependent sizes; bindings A, B, out and, with a bias, bias). */
  program(op: ConvGemmOp): Program<ConvGemmOp, typeof CONV_GEMM_UNIFORMS>;
  grid(op: ConvGemmOp): [number, number, number];
}

/** The blocks the tuner races (any op can run any of them; rows past M are clamped). */
export const CONV_GEMM_BLOCKS = ['4x8', '8x8', '16x8', '16x16', '32x16', '32x32'] as const;

export function convGemmProgram(name: string): ConvGemmProgram {
  const m = /^conv_(\d+)x(\d+)(_dot)?$/.exec(name);
  const [tm, tn] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!m || tm < 1 || tn < 4 || tn % 4 !== 0) {
    throw new Error(`conv GEMM program: expected conv_TMxTN or conv_TMxTN_dot with TN a multiple of 4 (e.g. ${CONV_GEMM_BLOCKS.map((b) => `conv_${b}`).join(', ')}), found "${name}"`);
  }
  const block = { tm, tn, dot: !!m[3] };
  return {
    name,
    workgroupSize: CONV_GEMM_WG,
    block,
    program: (op) => convGemmKernelProgram({ ...op, ...block }),
    grid: (op) => convGemmGrid({ ...op, ...block }),
  };
}

/**
 * The fixed choice (tune off): big blocks raise the CPU adapters' ceiling (fewer loads per
 * multiply-add), small ones keep enough threads busy; the dot-product form where the adapter prefers it
 * (SwiftShader: 0.77-0.87x the time of the k-sum form; llvmpipe 1.06-1.16x). 32x16 measured best for the M = 64 and
 * M = 128 products on both CPU adapters at batch 64 (npm run bench:conv-blocks; the figures are
 * in docs/benchmarks.md, "Convolution paths and fusions").
 */
export function convGemmFixedProgram(op: Pick<ConvGemmSpec, 'mode' | 'g' | 'G' | 'batchInner'>, adapter: { isSwiftShader: boolean }): string {
  const { M } = convGemmShape(op);
  // Batch-innermost operands, D's Conv2d 64->128: on llvmpipe (batch 128) forward and transposed
  // 32x32 0.94-0.97x the time of 32x16, weight 32x16 0.93x the time of 32x32; SwiftShader's
  // weight form (batch 64) 32x32 0.77x the time of 32x16.
  if (op.batchInner) return M >= 64 ? (op.mode === 'weight' && !adapter.isSwiftShader ? 'conv_32x16' : 'conv_32x32') : M >= 16 ? 'conv_16x16' : `conv_${Math.min(M, 4)}x8`;
  const dot = prefersDotProducts(adapter);
  const form = dot ? '_dot' : '';
  // SwiftShader's forward form at M = 128: 32x32_dot 0.84x the time of 32x16_dot; its
  // transposed form at M = 64: 0.77x at batch 64, 0.87-1.00x at batch 128.
  if (dot && ((op.mode === 'forward' && M >= 128) || (op.mode === 'transposed' && M >= 64))) return 'conv_32x32_dot';
  if (M >= 64) return `conv_32x16${form}`;
  if (M >= 16) return `conv_16x16${form}`;
  return `conv_${Math.min(M, 4)}x8${form}`;
}

/** Floats of the packed A (phases x M x K rounded up to 4), or 0 when A is bound as it is. */
export function convGemmPackedSize(spec: Pick<ConvGemmSpec, 'mode' | 'g' | 'G' | 'batchInner'>): number {
  const { M, K, phases } = convGemmShape(spec);
  if ((spec.mode === 'forward' && K % 4 === 0) || (spec.mode === 'weight' && spec.batchInner)) return 0;
  return phases * M * Math.ceil(K / 4) * 4;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The GEMM sizes that depend on the batch: N for forward and transposed (columns are pixels of
 * the batch), K and K4 for weight (K runs over them). The kernels read these from a uniform
 * (`dims`, convGemmDims) and bake everything else in, so one pipeline serves every batch size:
 * D's merged pass (2B) and its pass for G's step (B), the short last batch, the sampler's batches.
 */
const batchSizes = (mode: ConvGemmMode): readonly string[] => (mode === 'weight' ? ['K', 'K4'] : ['N']);

/** The uniform the GEMM kernel (and the weight form's pack kernel) reads its batch-dependent sizes from. */
export const CONV_GEMM_UNIFORMS = { N: 'u32', K: 'u32', K4: 'u32' } as const;

export function convGemmDims(spec: Pick<ConvGemmSpec, 'mode' | 'g' | 'G'>): { N: number; K: number; K4: number } {
  const { N, K } = convGemmShape(spec);
  return { N, K, K4: Math.ceil(K / 4) };
}

/** Whether the pack kernel of this form reads `dims` (the weight form packs the batch's grid). */
const convGemmPackReadsDims = (mode: ConvGemmMode) => mode === 'weight';

const dimsLets = (mode: ConvGemmMode) => batchSizes(mode).map((n) => `let ${n} = params.${n};`).join(' ');

function constants(spec: Pick<ConvGemmSpec, 'mode' | 'g' | 'G'>): string {
  const { g, G } = spec;
  for (const n of ['N', 'C', 'H', 'W', 'Ho', 'Wo', 'k', 's'] as const) {
    if (!Number.isInteger(g[n]) || g[n] < 1) throw new Error(`conv_gemm geometry: ${n} must be a positive integer, found ${g[n]}`);
  }
  if (!Number.isInteger(g.p) || g.p < 0) throw new Error(`conv_gemm geometry: p must be a non-negative integer, found ${g.p}`);
  const { M, N, K } = convGemmShape(spec);
  const T = Math.ceil(g.k / g.s);
  const values = { C: g.C, H: g.H, W: g.W, Ho: g.Ho, Wo: g.Wo, KS: g.k, s: g.s, p: g.p, G, M, N, K, K4: Math.ceil(K / 4), T, HQ: Math.ceil(g.H / g.s), WQ: Math.ceil(g.W / g.s) };
  const runtime = batchSizes(spec.mode);
  return Object.entries(values).filter(([n]) => !runtime.includes(n)).map(([n, v]) => `const ${n}: u32 = ${v}u;`).join('\n');
}

const tag = ({ g, G }: Pick<ConvGemmSpec, 'g' | 'G'>) => `${g.N}x${g.C}x${g.H}x${g.W}<-${G}x${g.Ho}x${g.Wo}/k${g.k}s${g.s}p${g.p}`;

/** An op's name without its block, e.g. `conv_gemm.weight+ 64x64x14x14<-128x7x7/k4s2p1` (tuning logs and cache keys). */
export function convGemmName(op: ConvGemmOp): string {
  return `conv_gemm.${op.mode}${op.batchInner ? '.chwn' : ''}${op.bias ? '.bias' : ''}${fusedName(op.activation)}${op.accumulate ? '+' : ''} ${tag(op)}`;
}

export const CONV_PACK_WG = 256;

/**
 * packed[z, m, k] for k < K4 * 4: A(m, k) of phase z in the GEMM's order, 0 past K and for taps
 * outside the kernel. One thread per vec4 of packed values, on a grid of (k / 4, m, z): the
 * weight form's K4 comes from a uniform, and dividing a flat index by it cost llvmpipe a scalar
 * division per value (it has no vector integer division).
 */
export function convGemmPackProgram(spec: Pick<ConvGemmSpec, 'mode' | 'g' | 'G'>) {
  const source = {
    // weights [M, K] with K not a multiple of 4: padded rows.
    forward: 'if (k < K) { v = src[m * K + k]; }',
    // grid [NB, G, Ho, Wo] -> [G, (nb, oh, ow)].
    weight: 'if (k < K) { v = src[(k / (Ho * Wo) * G + m) * Ho * Wo + k % (Ho * Wo)]; }',
    // weights [G, C, KS, KS] -> phase-major [s s, C, (g, th, tw)], taps kh = ph + s th.
    transposed: `let ph = z / s; let pw = z % s;
  let kh = ph + s * (k / T % T); let kw = pw + s * (k % T);
  if (k < K && kh < KS && kw < KS) { v = src[((k / (T * T) * C + m) * KS + kh) * KS + kw]; }`,
  }[spec.mode];
  const readsDims = convGemmPackReadsDims(spec.mode);
  return program({
    name: `conv_gemm.pack_${spec.mode} ${tag(spec)}`,
    workgroupSize: [CONV_PACK_WG],
    ...(readsDims ? { uniforms: CONV_GEMM_UNIFORMS } : {}),
    bindings: { src: 'read', packed: { access: 'read_write', type: 'array<vec4<f32>>' } },
    wgsl: constants(spec),
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${readsDims ? dimsLets(spec.mode) : ''}
  let k4 = gid.x;
  let m = gid.y;
  let z = gid.z;
  if (k4 >= K4) { return; }
  var p = vec4<f32>(0.0);
  ${range(4).map((u) => `{
    let k = k4 * 4u + ${u}u;
    var v = 0.0;
    ${source}
    p[${u}] = v;
  }`).join('\n  ')}
  packed[(z * M + m) * K4 + k4] = p;
}`,
    grid: (op: Pick<ConvGemmSpec, 'mode' | 'g' | 'G'>, max: number): [number, number, number] => {
      const { M, K, phases } = convGemmShape(op);
      const x = Math.ceil(Math.ceil(K / 4) / CONV_PACK_WG);
      if (x > max || M > max) throw new Error(`${convGemmName(op)}: its pack needs a grid of ${x} x ${M} workgroups, over the adapter's ${max} per dimension`);
      return [x, M, phases];
    },
  });
}

/**
 * B's index maps, in WGSL. Per column j: `cb` (B's offset), `ch`/`cw` (B's bounds terms), `co`
 * (the output's column offset), `cv` (column stored at all). Per k: `kb`, `kh`, `kw`. Per row i:
 * `ro` (the output's row offset).
 */
interface IndexMaps {
  /** The phase's terms for `transposed`. */
  setup: string;
  /** Bounds of B's tap position (LH, LW). */
  bounds: [string, string];
  column(n: string, j: number): string;
  k(k: string, u: number): string;
  row(m: string, i: number): string;
}

function indexMaps(spec: ConvGemmSpec): IndexMaps {
  const kk = spec.g.k * spec.g.k;
  if (spec.mode === 'forward') {
    return {
      setup: '',
      bounds: ['H', 'W'],
      column: (n, j) => `let n${j} = ${n}; let nb${j} = n${j} / (Ho * Wo); let ohw${j} = n${j} % (Ho * Wo);
  let ch${j} = i32(ohw${j} / Wo * s) - i32(p); let cw${j} = i32(ohw${j} % Wo * s) - i32(p);
  let cb${j} = i32(nb${j} * C * H * W) + ch${j} * i32(W) + cw${j};
  let co${j} = nb${j} * G * Ho * Wo + ohw${j};`,
      k: (k, u) => `let q${u} = ${k}; let kh${u} = i32(q${u} / KS % KS); let kw${u} = i32(q${u} % KS);
    let kb${u} = i32(q${u} / ${kk}u * H * W) + kh${u} * i32(W) + kw${u};`,
      row: (m, i) => `let ro${i} = ${m} * Ho * Wo;`,
    };
  }
  if (spec.mode === 'weight') {
    return {
      setup: '',
      bounds: ['H', 'W'],
      column: (n, j) => `let n${j} = ${n}; let c${j} = n${j} / ${kk}u; let ch${j} = i32(n${j} / KS % KS); let cw${j} = i32(n${j} % KS);
  let cb${j} = i32(c${j} * H * W) + ch${j} * i32(W) + cw${j};
  let co${j} = n${j};`,
      k: (k, u) => `let q${u} = ${k}; let nb${u} = q${u} / (Ho * Wo); let ohw${u} = q${u} % (Ho * Wo);
    let kh${u} = i32(ohw${u} / Wo * s) - i32(p); let kw${u} = i32(ohw${u} % Wo * s) - i32(p);
    let kb${u} = i32(nb${u} * C * H * W) + kh${u} * i32(W) + kw${u};`,
      row: (m, i) => `let ro${i} = ${m} * N;`,
    };
  }
  // transposed: phase (ph, pw) = pixels with (ih + p) mod s = ph; their taps kh = ph + s th
  // (the packed A is zero for taps past the kernel, so B needs no tap mask).
  return {
    setup: `let ph = wid.z / s; let pw = wid.z % s;
  let rh = (ph + s - p % s) % s; let rw = (pw + s - p % s) % s;   // first pixel row/col of the phase
  let offh = (rh + p - ph) / s; let offw = (rw + p - pw) / s;     // grid row of tap th = 0`,
    bounds: ['Ho', 'Wo'],
    column: (n, j) => `let n${j} = ${n}; let nb${j} = n${j} / (HQ * WQ); let ihq${j} = n${j} / WQ % HQ; let iwq${j} = n${j} % WQ;
  let ch${j} = i32(ihq${j} + offh); let cw${j} = i32(iwq${j} + offw);
  let cb${j} = i32(nb${j} * G * Ho * Wo) + ch${j} * i32(Wo) + cw${j};
  let ih${j} = ihq${j} * s + rh; let iw${j} = iwq${j} * s + rw;
  let cv${j} = ih${j} < H && iw${j} < W;
  let co${j} = select(0u, nb${j} * C * H * W + ih${j} * W + iw${j}, cv${j});`,
    k: (k, u) => `let q${u} = ${k}; let th${u} = q${u} / T % T; let tw${u} = q${u} % T;
    let kh${u} = -i32(th${u}); let kw${u} = -i32(tw${u});
    let kb${u} = i32(q${u} / (T * T) * Ho * Wo) - i32(th${u} * Wo + tw${u});`,
    row: (m, i) => `let ro${i} = ${m} * H * W;`,
  };
}

/** indexMaps' terms, and per group of four columns (j4) the group's own: `cb`, `ch`/`cw`. */
type BatchInnerMaps = IndexMaps & { group(n: string, j4: number): string };

/**
 * B's index maps for a batch-innermost B ([C, H, W, N], `batchInner`), in vec4 units of B. Column
 * n = (pixel, nb) with nb innermost: the four columns of group j4 are one pixel's four
 * consecutive samples, so one mask and one aligned vec4 load serve them. Per group j4: `cb`,
 * `ch`/`cw`; per column j: `co` and `cv` as in indexMaps; per k: `kb`, `kh`, `kw`.
 */
function batchInnerMaps(spec: ConvGemmSpec): BatchInnerMaps {
  const kk = spec.g.k * spec.g.k;
  const base = indexMaps(spec);
  if (spec.mode === 'forward') {
    return {
      ...base,
      setup: 'let NB = N / (Ho * Wo); let NB4 = NB / 4u;',
      group: (n, j4) => `let n${j4}g = ${n}; let nb${j4}g = n${j4}g % NB; let ohw${j4}g = n${j4}g / NB;
  let ch${j4} = i32(ohw${j4}g / Wo * s) - i32(p); let cw${j4} = i32(ohw${j4}g % Wo * s) - i32(p);
  let cb${j4} = (ch${j4} * i32(W) + cw${j4}) * i32(NB4) + i32(nb${j4}g / 4u);`,
      column: (_n, j) => `let co${j} = (nb${Math.floor(j / 4)}g + ${j % 4}u) * G * Ho * Wo + ohw${Math.floor(j / 4)}g;`,
      k: (k, u) => `let q${u} = ${k}; let kh${u} = i32(q${u} / KS % KS); let kw${u} = i32(q${u} % KS);
    let kb${u} = (i32(q${u} / ${kk}u * H * W) + kh${u} * i32(W) + kw${u}) * i32(NB4);`,
    };
  }
  return {
    ...base,
    setup: `${base.setup}
  let NB = N / (HQ * WQ); let NB4 = NB / 4u;`,
    group: (n, j4) => `let n${j4}g = ${n}; let nb${j4}g = n${j4}g % NB; let pq${j4}g = n${j4}g / NB;
  let ihq${j4} = pq${j4}g / WQ; let iwq${j4} = pq${j4}g % WQ;
  let ch${j4} = i32(ihq${j4} + offh); let cw${j4} = i32(iwq${j4} + offw);
  let cb${j4} = (ch${j4} * i32(Wo) + cw${j4}) * i32(NB4) + i32(nb${j4}g / 4u);
  let ih${j4} = ihq${j4} * s + rh; let iw${j4} = iwq${j4} * s + rw;`,
    column: (_n, j) => {
      const j4 = Math.floor(j / 4);
      return `let cv${j} = ih${j4} < H && iw${j4} < W;
  let co${j} = select(0u, (nb${j4}g + ${j % 4}u) * C * H * W + ih${j4} * W + iw${j4}, cv${j});`;
    },
    k: (k, u) => `let q${u} = ${k}; let th${u} = q${u} / T % T; let tw${u} = q${u} % T;
    let kh${u} = -i32(th${u}); let kw${u} = -i32(tw${u});
    let kb${u} = (i32(q${u} / (T * T) * Ho * Wo) - i32(th${u} * Wo + tw${u})) * i32(NB4);`,
  };
}

/** Refuses, with the reason, a block or a combination of options no kernel is made for. */
function checkKernelSpec(spec: ConvGemmSpec): void {
  const { tm: TM, tn: TN, mode } = spec;
  if (TN % 4 !== 0 || TM < 1 || !Number.isInteger(TM)) throw new Error(`conv_gemm: block ${TM}x${TN}: TN must be a multiple of 4 and TM a positive integer`);
  if (((spec.bias || spec.activation) && mode === 'weight') || (spec.accumulate && mode !== 'weight')) {
    throw new Error(`conv_gemm ${mode}: bias and activation go with forward/transposed, accumulate with weight`);
  }
  if (spec.batchInner && spec.dot) throw new Error(`conv_gemm ${mode}: the dot form reads B along K, a batch-innermost B is read along N`);
}

/**
 * One block of 4 k at `k0`: TM vec4 loads of A, then per k its terms, TN masked loads of B and
 * TM x TN multiply-adds. Masks combine with `&`, not `&&`: a short-circuit `&&` becomes a
 * branch per load, and SwiftShader took minutes to compile the resulting control flow. In the
 * last block of a K that is not a multiple of 4 (`tail`), k past K reads a valid tap (k clamped)
 * that the zero-padded A cancels.
 */
function kBlock(spec: ConvGemmSpec, maps: IndexMaps, inner: BatchInnerMaps | null, k0: string, tail: boolean): string {
  const I = range(spec.tm);
  const J = range(spec.tn);
  const J4 = range(spec.tn / 4);
  const [LH, LW] = maps.bounds;
  const lines = I.map((i) => `let a${i} = A[ar${i} + ${k0} / 4u];`);
  for (const u of range(4)) {
    lines.push(maps.k(tail ? `min(${k0} + ${u}u, K - 1u)` : `${k0} + ${u}u`, u));
    if (inner) {
      for (const j4 of J4) {
        lines.push(`let v${j4}_${u} = (u32(ch${j4} + kh${u}) < ${LH}) & (u32(cw${j4} + kw${u}) < ${LW}); let b${j4}_${u} = select(vec4<f32>(0.0), B[select(0u, u32(cb${j4} + kb${u}), v${j4}_${u})], v${j4}_${u});`);
      }
      continue;
    }
    for (const j of J) {
      lines.push(`let v${j}_${u} = (u32(ch${j} + kh${u}) < ${LH}) & (u32(cw${j} + kw${u}) < ${LW}); let b${j}_${u} = select(0.0, B[select(0u, u32(cb${j} + kb${u}), v${j}_${u})], v${j}_${u});`);
    }
  }
  if (inner) {
    for (const i of I) for (const j4 of J4) lines.push(`acc${i}_${j4} = acc${i}_${j4} + ${range(4).map((u) => `a${i}[${u}] * b${j4}_${u}`).join(' + ')};`);
  } else if (spec.dot) {
    // Column j's four k-values as one vec4 (renames of its gathered scalars), each output a dot().
    for (const j of J) lines.push(`let bk${j} = vec4<f32>(${range(4).map((u) => `b${j}_${u}`).join(', ')});`);
    for (const i of I) for (const j4 of J4) lines.push(`acc${i}_${j4} += vec4<f32>(${range(4).map((jj) => `dot(a${i}, bk${4 * j4 + jj})`).join(', ')});`);
  } else {
    // All four k terms of an accumulator in one expression, as the matmul blocks do (bit for bit
    // the four `+=`; llvmpipe then reloads and stores each spilled accumulator once per 4 k).
    for (const i of I) for (const j4 of J4) {
      lines.push(`acc${i}_${j4} = acc${i}_${j4} + ${range(4).map((u) => `a${i}[${u}] * vec4<f32>(${range(4).map((jj) => `b${4 * j4 + jj}_${u}`).join(', ')})`).join(' + ')};`);
    }
  }
  return lines.join('\n    ');
}

/**
 * The block's stores, bias and activation applied, with as few tests as are needed: a column
 * past N reads column N - 1's operands (the loads clamp n), so it holds that column's value and
 * an assignment may store it there again; only an accumulating store (`+=`) tests the column, and
 * a transposed phase's pixel outside the image is skipped, a test per column around its rows.
 * Rows are tested only where M is not a multiple of the block's. A test per output cost about
 * 40% of a 32x32 block's compile (docs/benchmarks.md, "The test suite").
 */
function blockStores(spec: ConvGemmSpec): string[] {
  const { M, N } = convGemmShape(spec);
  const rowsWhole = M % spec.tm === 0;
  // The weight form's N is baked in; the others' comes with the batch.
  const columnTested = spec.accumulate && !(spec.mode === 'weight' && N % spec.tn === 0);
  const stores = spec.bias ? range(spec.tm).map((i) => `let bias${i} = bias[min(row0 + ${i}u, M - 1u)];`) : [];
  for (const j of range(spec.tn)) {
    const valid = [columnTested ? `col0 + ${j}u < N` : '', spec.mode === 'transposed' ? `cv${j}` : ''].filter(Boolean).join(' && ');
    const rows = range(spec.tm).map((i) => {
      const v = fusedApply(spec.activation, `acc${i}_${Math.floor(j / 4)}[${j % 4}]${spec.bias ? ` + bias${i}` : ''}`);
      const store = `out[ro${i} + co${j}] ${spec.accumulate ? '+=' : '='} ${v};`;
      return rowsWhole ? store : `if (row0 + ${i}u < M) { ${store} }`;
    });
    stores.push(valid ? `if (${valid}) {\n    ${rows.join('\n    ')}\n  }` : rows.join('\n  '));
  }
  return stores;
}

/** The entry point of every form but the batch-innermost weight form (batchInnerWeightMain). */
function gatherMain(spec: ConvGemmSpec, stores: readonly string[]): string {
  const { tm: TM, tn: TN, mode } = spec;
  const { K } = convGemmShape(spec);
  const inner = spec.batchInner && mode !== 'weight' ? batchInnerMaps(spec) : null;
  const maps = inner ?? indexMaps(spec);
  const I = range(TM);
  const J = range(TN);
  const J4 = range(TN / 4);
  const block = (k0: string, tail: boolean) => kBlock(spec, maps, inner, k0, tail);
  // K is known here except for the weight form, whose K (the batch's pixels) comes from dims:
  // then the whole-block loop bound and the tail are decided at run time.
  const Kfull = Math.floor(K / 4) * 4;
  const runtimeK = mode === 'weight';
  const loopEnd = runtimeK ? 'K / 4u * 4u' : `${Kfull}u`;
  const tail = runtimeK ? `if (K % 4u != 0u) {\n    ${block('K / 4u * 4u', true)}\n  }` : K > Kfull ? `{\n    ${block(`${Kfull}u`, true)}\n  }` : '';
  return /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  ${dimsLets(mode)}
  let row0 = gid.y * ${TM}u;
  let col0 = gid.x * ${TN}u;
  if (row0 >= M || col0 >= N) { return; }
  ${maps.setup}
  ${inner ? J4.map((j4) => inner.group(`min(col0 + ${4 * j4}u, N - 4u)`, j4)).join('\n  ') : ''}
  ${J.map((j) => maps.column(`min(col0 + ${j}u, N - 1u)`, j)).join('\n  ')}
  ${I.map((i) => `let ar${i} = (wid.z * M + min(row0 + ${i}u, M - 1u)) * K4;`).join('\n  ')}
  ${I.map((i) => maps.row(`(row0 + ${i}u)`, i)).join('\n  ')}
  ${I.flatMap((i) => J4.map((j4) => `var acc${i}_${j4} = vec4<f32>(0.0);`)).join('\n  ')}
  for (var k0 = 0u; k0 < ${loopEnd}; k0 += 4u) {
    ${block('k0', false)}
  }
  ${tail}
  ${stores.join('\n  ')}
}`;
}

function convGemmKernelProgram(spec: ConvGemmSpec) {
  checkKernelSpec(spec);
  const { tm: TM, tn: TN, mode } = spec;
  const stores = blockStores(spec);
  const main = spec.batchInner && mode === 'weight' ? batchInnerWeightMain(spec, stores) : gatherMain(spec, stores);
  return program({
    name: `conv_gemm.${mode}.${TM}x${TN}${spec.dot ? '_dot' : ''}${spec.batchInner ? '.chwn' : ''}${spec.bias ? '.bias' : ''}${fusedName(spec.activation)}${spec.accumulate ? '+' : ''} ${tag(spec)}`,
    workgroupSize: CONV_GEMM_WG,
    uniforms: CONV_GEMM_UNIFORMS,
    bindings: { A: { access: 'read', type: 'array<vec4<f32>>' }, B: spec.batchInner ? { access: 'read', type: 'array<vec4<f32>>' } : 'read', out: 'read_write', ...(spec.bias ? { bias: 'read' } : {}) } as BindingLayout,
    constants: fusedConstants(spec.activation),
    wgsl: `${constants(spec)}${fusedFns(spec.activation)}`,
    main,
    grid: (op: ConvGemmOp) => convGemmGrid({ ...op, tm: TM, tn: TN }),
    flops: convGemmFlops,
  });
}

/**
 * The weight form over batch-innermost operands: the grid [G, Ho, Wo, N] is A as it is (row g
 * runs along K = (oh, ow, n)), the image [C, H, W, N] gives B(k, (c, kh, kw)) as vec4s along K,
 * so each output is a dot() of k-vectors, as in the A B^T GEMMs. K runs as pixels (a constant
 * count, whose tap positions and masks are worked out once per pixel) times the batch's vec4s
 * (the uniform's K / (Ho Wo) / 4): no division in the inner loop and no pack.
 */
function batchInnerWeightMain(spec: ConvGemmSpec, stores: readonly string[]): string {
  const { tm: TM, tn: TN } = spec;
  const kk = spec.g.k * spec.g.k;
  const I = range(TM);
  const J = range(TN);
  const J4 = range(TN / 4);
  return /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${dimsLets('weight')}
  let NB4 = K / (Ho * Wo) / 4u;
  let row0 = gid.y * ${TM}u;
  let col0 = gid.x * ${TN}u;
  if (row0 >= M || col0 >= N) { return; }
  ${J.map((j) => `let n${j} = min(col0 + ${j}u, N - 1u); let cc${j} = i32(n${j} / ${kk}u * H * W); let kh${j} = i32(n${j} / KS % KS) - i32(p); let kw${j} = i32(n${j} % KS) - i32(p); let co${j} = n${j};`).join('\n  ')}
  ${I.map((i) => `let ar${i} = min(row0 + ${i}u, M - 1u) * Ho * Wo * NB4; let ro${i} = (row0 + ${i}u) * N;`).join('\n  ')}
  ${I.flatMap((i) => J4.map((j4) => `var acc${i}_${j4} = vec4<f32>(0.0);`)).join('\n  ')}
  for (var pix = 0u; pix < Ho * Wo; pix++) {
    let h0 = i32(pix / Wo * s); let w0 = i32(pix % Wo * s);
    ${J.map((j) => `let ih${j} = h0 + kh${j}; let iw${j} = w0 + kw${j}; let v${j} = (u32(ih${j}) < H) & (u32(iw${j}) < W);
    let bb${j} = select(0u, u32(cc${j} + ih${j} * i32(W) + iw${j}) * NB4, v${j});`).join('\n    ')}
    let ap = pix * NB4;
    for (var q = 0u; q < NB4; q++) {
      ${I.map((i) => `let a${i} = A[ar${i} + ap + q];`).join('\n      ')}
      ${J.map((j) => `let b${j} = select(vec4<f32>(0.0), B[bb${j} + q], v${j});`).join('\n      ')}
      ${I.flatMap((i) => J4.map((j4) => `acc${i}_${j4} += vec4<f32>(${range(4).map((jj) => `dot(a${i}, b${4 * j4 + jj})`).join(', ')});`)).join('\n      ')}
    }
  }
  ${stores.join('\n  ')}
}`;
}

const G = { N: 2, C: 8, H: 6, W: 6, Ho: 3, Wo: 3, k: 4, s: 2, p: 1 };
/** Each form with the fixed blocks and its pack, for the program test. */
export const CONV_GEMM_PROGRAMS: AnyProgram[] = CONV_GEMM_MODES.flatMap((mode) => {
  const op = { mode, g: G, G: 8, bias: mode !== 'weight', accumulate: mode === 'weight' };
  return [
    ...['conv_16x8', 'conv_32x16', 'conv_16x8_dot'].map((b) => convGemmProgram(b).program(op)),
    convGemmPackProgram(op),
    convGemmProgram('conv_16x8').program({ ...op, g: { ...G, N: 4 }, batchInner: true }),
  ];
});
