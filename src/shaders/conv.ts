/**
 * The data movement around convolutions; the arithmetic is the matmul family.
 *
 * Conv2d is lowered to im2col + matmul (Caffe-style): col[(c,kh,kw), (n,oh,ow)] holds the input
 * pixel each kernel tap sees. Its adjoint, col2im, sums taps back into an image and is written as
 * a gather (each output pixel loops over the taps that reach it), so it needs no atomics and is
 * deterministic. ConvTranspose2d is the same pair run the other way round.
 *
 * Geometry (square kernel k, stride s, padding p): an "image" of H x W and a "grid" of Ho x Wo
 * with image row = grid row * s - p + kh.
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { program, type BindingLayout } from '../gpu/program.js';
import { fusedApply, fusedConstants, fusedFns, fusedName, type FusedActivation } from './activation.js';
import { FLAT_ID, grid1d } from './common.js';

export const CONV_WG = 256;

export interface ConvGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  Ho: number;
  Wo: number;
  k: number;
  s: number;
  p: number;
}

/** Output size of a convolution along one dimension (PyTorch's formula). */
export function convOut(size: number, k: number, s: number, p: number): number {
  return Math.floor((size + 2 * p - k) / s) + 1;
}

/** Output size of a transposed convolution along one dimension (output_padding 0). */
export function convTransposeOut(size: number, k: number, s: number, p: number): number {
  return (size - 1) * s - 2 * p + k;
}

/**
 * The geometry is baked into the source as constants, one pipeline per layer shape: the
 * compiler then turns every division and modulo into multiply-and-shift. With the geometry in a
 * uniform, llvmpipe spent as long on each im2col/col2im at batch 64 as on the matmul itself.
 */
function geometry(g: ConvGeometry): string {
  const names = ['N', 'C', 'H', 'W', 'Ho', 'Wo', 'k', 's', 'p'] as const;
  for (const n of names) {
    if (!Number.isInteger(g[n]) || g[n] < 0) throw new Error(`conv geometry: ${n} must be a non-negative integer, found ${g[n]}`);
  }
  return `${names.map((n) => `const ${n}: u32 = ${g[n]}u;`).join('\n')}\n${FLAT_ID}`;
}

const tag = (g: ConvGeometry) => `${g.N}x${g.C}x${g.H}x${g.W}<-${g.Ho}x${g.Wo}/k${g.k}s${g.s}p${g.p}`;

const pixelsGrid = ({ n }: { n: number }, max: number) => grid1d(n, CONV_WG, max);

/** Columns (n, oh, ow) of col per im2col invocation: a vec4 of them. */
const IM2COL_COLS = 4;

/**
 * col[(c,kh,kw), (n,oh,ow)] = image[n, c, oh*s-p+kh, ow*s-p+kw], 0 outside. One invocation per
 * channel and 4 consecutive columns, over every tap of the kernel: the columns' (n, oh, ow) are
 * divided out once for k x k taps (a division per value made SwiftShader's im2col 3x slower),
 * and each tap's 4 values are one vec4 store when the row length N Ho Wo is a multiple of 4
 * (0.56-0.60x the time of one value per invocation on llvmpipe, 0.25-0.33x on SwiftShader).
 */
export function im2colProgram(g: ConvGeometry) {
  const J = g.N * g.Ho * g.Wo;
  const vec4 = J % IM2COL_COLS === 0;
  const U = [0, 1, 2, 3];
  const store = vec4
    ? `col[row * J4 + j4] = vec4<f32>(${U.map((u) => `tap(b${u}, h${u} + i32(kh), w${u} + i32(kw), ok${u})`).join(', ')});`
    : U.map((u) => `if (ok${u}) { col[row * J + j${u}] = tap(b${u}, h${u} + i32(kh), w${u} + i32(kw), true); }`).join('\n      ');
  return program({
    name: `conv.im2col ${tag(g)}`,
    workgroupSize: [CONV_WG],
    bindings: { image: 'read', col: vec4 ? { access: 'read_write', type: 'array<vec4<f32>>' } : 'read_write' },
    wgsl: `${geometry(g)}
const J: u32 = ${J}u;
const J4: u32 = ${Math.ceil(J / IM2COL_COLS)}u;
fn tap(base: u32, ih: i32, iw: i32, ok: bool) -> f32 {
  let inside = ok & (u32(ih) < H) & (u32(iw) < W);
  return select(0.0, image[select(0u, base + u32(ih) * W + u32(iw), inside)], inside);
}`,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j4 = gid.x;
  let c = gid.y;
  if (j4 >= J4) { return; }
  ${U.map((u) => `let j${u} = j4 * 4u + ${u}u; let ok${u} = j${u} < J; let ohw${u} = j${u} % (Ho * Wo);
  let b${u} = (j${u} / (Ho * Wo) * C + c) * H * W; let h${u} = i32(ohw${u} / Wo * s) - i32(p); let w${u} = i32(ohw${u} % Wo * s) - i32(p);`).join('\n  ')}
  for (var kh = 0u; kh < k; kh++) {
    for (var kw = 0u; kw < k; kw++) {
      let row = (c * k + kh) * k + kw;
      ${store}
    }
  }
}`,
    grid: (_: ConvGeometry, max: number): [number, number, number] => {
      const x = Math.ceil(Math.ceil(J / IM2COL_COLS) / CONV_WG);
      if (x > max || g.C > max) throw new Error(`conv.im2col ${tag(g)}: needs a grid of ${x} x ${g.C} workgroups, over the adapter's ${max} per dimension`);
      return [x, g.C, 1];
    },
  });
}

/**
 * image[n, c, ih, iw] = sum of col[(c,kh,kw), (n,oh,ow)] over taps with oh*s-p+kh = ih (and
 * likewise for w), plus bias[c] when `bias`, then `act` when given (a ConvTranspose2d followed by
 * an activation). One thread per image pixel (n of them).
 */
export function col2imProgram(g: ConvGeometry, bias: boolean, act?: FusedActivation) {
  return program({
    name: `conv.col2im${bias ? '_bias' : ''}${fusedName(act)} ${tag(g)}`,
    workgroupSize: [CONV_WG],
    bindings: (bias ? { col: 'read', image: 'read_write', bias: 'read' } : { col: 'read', image: 'read_write' }) as BindingLayout,
    constants: fusedConstants(act),
    wgsl: `${geometry(g)}${fusedFns(act)}`,
    main: wgsl`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i >= N * C * H * W) { return; }
  let iw = i % W;
  let ih = (i / W) % H;
  let c = (i / (W * H)) % C;
  let n = i / (W * H * C);
  let J = N * Ho * Wo;
  // Only taps with kh = (ih + p) mod s (and likewise kw) reach this pixel: start there and step
  // by s, so a k4 s2 kernel visits 2 x 2 taps, not 16.
  let th = ih + p;  // = oh * s + kh
  let tw = iw + p;
  var acc = 0.0;
  for (var kh = th % s; kh < k && kh <= th; kh += s) {
    let oh = (th - kh) / s;
    if (oh >= Ho) { continue; }
    for (var kw = tw % s; kw < k && kw <= tw; kw += s) {
      let ow = (tw - kw) / s;
      if (ow >= Wo) { continue; }
      acc += col[((c * k + kh) * k + kw) * J + (n * Ho + oh) * Wo + ow];
    }
  }
#if ${bias}
  acc += bias[c];
#endif
  image[i] = ${fusedApply(act, 'acc')};
}`,
    grid: pixelsGrid,
  });
}

/**
 * [N, C, HW] -> [C, N HW], a GEMM operand (a conv's dy or grid: ops.channelsByPixels). One
 * invocation per 4 columns of a row, on a grid of (columns / 4, C), stored as one vec4 when N HW
 * is a multiple of 4: a flat index would cost llvmpipe a scalar division by HW and by C per value
 * (it has no vector integer division), while the 4 columns share one row. Sizes baked in.
 */
export function nchwToCnProgram({ N, C, HW }: { N: number; C: number; HW: number }) {
  const J = N * HW;
  const vec4 = J % 4 === 0;
  const J4 = Math.ceil(J / 4);
  const column = (u: number) => `let j${u} = min(j4 * 4u + ${u}u, J - 1u); let v${u} = src[(j${u} / HW * C + c) * HW + j${u} % HW];`;
  return program({
    name: `conv.nchw_to_cn ${N}x${C}x${HW}`,
    workgroupSize: [CONV_WG],
    bindings: { src: 'read', dst: vec4 ? { access: 'read_write', type: 'array<vec4<f32>>' } : 'read_write' },
    wgsl: `
const C: u32 = ${C}u;
const HW: u32 = ${HW}u;
const J: u32 = ${J}u;
const J4: u32 = ${J4}u;`,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j4 = gid.x;
  let c = gid.y;
  if (j4 >= J4) { return; }
  ${[0, 1, 2, 3].map(column).join('\n  ')}
  ${vec4 ? 'dst[c * J4 + j4] = vec4<f32>(v0, v1, v2, v3);' : [0, 1, 2, 3].map((u) => `if (j4 * 4u + ${u}u < J) { dst[c * J + j4 * 4u + ${u}u] = v${u}; }`).join('\n  ')}
}`,
    grid: (_: Record<string, never>, max: number): [number, number, number] => {
      const x = Math.ceil(J4 / CONV_WG);
      if (x > max || C > max) throw new Error(`conv.nchw_to_cn ${N}x${C}x${HW}: needs a grid of ${x} x ${C} workgroups, over the adapter's ${max} per dimension`);
      return [x, C, 1];
    },
  });
}

/**
 * [N, C, HW] -> [C, HW, N] (N a multiple of 4), the batch-innermost operand of the implicit conv
 * GEMMs (ConvGemmSpec.batchInner). One invocation per 4 samples at one channel and, when HW is a
 * multiple of 4, 4 pixels: four vec4 loads along the pixels, transposed in registers into four
 * vec4 stores along the samples (else one pixel: four scalar loads, one vec4 store). On a grid of
 * (pixel groups x N/4, C), pixels fastest, so that neighbouring invocations read neighbouring values.
 */
export function nchwToChwnProgram({ N, C, HW }: { N: number; C: number; HW: number }) {
  if (N % 4 !== 0) throw new Error(`conv.nchw_to_chwn: the batch must be a multiple of 4, found ${N}`);
  const N4 = N / 4;
  const wide = HW % 4 === 0;
  const P = wide ? HW / 4 : HW;
  const U = [0, 1, 2, 3];
  const body = wide
    ? `${U.map((u) => `let r${u} = src[((n + ${u}u) * C + c) * P + q];`).join('\n  ')}
  ${U.map((v) => `dst[(c * HW + q * 4u + ${v}u) * N4 + n / 4u] = vec4<f32>(${U.map((u) => `r${u}[${v}]`).join(', ')});`).join('\n  ')}`
    : `dst[(c * HW + q) * N4 + n / 4u] = vec4<f32>(${U.map((u) => `src[((n + ${u}u) * C + c) * HW + q]`).join(', ')});`;
  return program({
    name: `conv.nchw_to_chwn${wide ? '.vec4' : ''} ${N}x${C}x${HW}`,
    workgroupSize: [CONV_WG],
    bindings: { src: wide ? { access: 'read', type: 'array<vec4<f32>>' } : 'read', dst: { access: 'read_write', type: 'array<vec4<f32>>' } },
    wgsl: `
const C: u32 = ${C}u;
const HW: u32 = ${HW}u;
const P: u32 = ${P}u;
const N4: u32 = ${N4}u;`,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.y;
  if (gid.x >= P * N4) { return; }
  let q = gid.x % P;
  let n = gid.x / P * 4u;
  ${body}
}`,
    grid: (_: Record<string, never>, max: number): [number, number, number] => {
      const x = Math.ceil((P * N4) / CONV_WG);
      if (x > max || C > max) throw new Error(`conv.nchw_to_chwn ${N}x${C}x${HW}: needs a grid of ${x} x ${C} workgroups, over the adapter's ${max} per dimension`);
      return [x, C, 1];
    },
  });
}

const G = { N: 2, C: 3, H: 6, W: 6, Ho: 3, Wo: 3, k: 4, s: 2, p: 1 };
export const CONV_PROGRAMS = [
  im2colProgram(G),
  im2colProgram({ ...G, N: 4 }), // N Ho Wo a multiple of 4: the vec4 store
  col2imProgram(G, false),
  col2imProgram(G, true, { op: 'tanh', slope: 0 }),
  nchwToCnProgram({ N: 2, C: 3, HW: 4 }),
  nchwToCnProgram({ N: 3, C: 2, HW: 9 }), // N HW not a multiple of 4: scalar stores
  nchwToChwnProgram({ N: 4, C: 3, HW: 9 }),
  nchwToChwnProgram({ N: 8, C: 3, HW: 16 }), // HW a multiple of 4: vec4 loads
];
