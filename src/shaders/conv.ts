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

/** col[(c,kh,kw), (n,oh,ow)] = image[n, c, oh*s-p+kh, ow*s-p+kw], 0 outside. One thread per col entry (n of them). */
export function im2colProgram(g: ConvGeometry) {
  return program({
    name: `conv.im2col ${tag(g)}`,
    workgroupSize: [CONV_WG],
    bindings: { image: 'read', col: 'read_write' },
    wgsl: geometry(g),
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  let J = N * Ho * Wo;
  if (i >= C * k * k * J) { return; }
  let row = i / J;            // (c, kh, kw)
  let j = i - row * J;        // (n, oh, ow)
  let c = row / (k * k);
  let kh = (row / k) % k;
  let kw = row % k;
  let n = j / (Ho * Wo);
  let oh = (j / Wo) % Ho;
  let ow = j % Wo;
  let ih = i32(oh * s + kh) - i32(p);
  let iw = i32(ow * s + kw) - i32(p);
  var v = 0.0;
  if (ih >= 0 && iw >= 0 && ih < i32(H) && iw < i32(W)) {
    v = image[((n * C + c) * H + u32(ih)) * W + u32(iw)];
  }
  col[i] = v;
}`,
    grid: pixelsGrid,
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

/** [N, C, HW] <-> [C, N*HW]; `cn_to_nchw` adds bias[c] when `bias`. Sizes baked in as constants. */
export function permuteProgram(direction: 'nchw_to_cn' | 'cn_to_nchw', sizes: { N: number; C: number; HW: number }, bias = false) {
  const toNchw = direction === 'cn_to_nchw';
  return program({
    name: `conv.${direction}${bias ? '_bias' : ''} ${sizes.N}x${sizes.C}x${sizes.HW}`,
    workgroupSize: [CONV_WG],
    bindings: (bias ? { src: 'read', dst: 'read_write', bias: 'read' } : { src: 'read', dst: 'read_write' }) as BindingLayout,
    wgsl: `
const N: u32 = ${sizes.N}u;
const C: u32 = ${sizes.C}u;
const HW: u32 = ${sizes.HW}u;
${FLAT_ID}`,
    main: wgsl`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i >= N * C * HW) { return; }
  // i walks the destination; find the same element in the source.
#if ${toNchw}
  let hw = i % HW;
  let c = (i / HW) % C;
  let n = i / (HW * C);
  var v = src[(c * N + n) * HW + hw];
#if ${bias}
  v += bias[c];
#endif
  dst[i] = v;
#else
  let hw = i % HW;
  let n = (i / HW) % N;
  let c = i / (HW * N);
  dst[i] = src[(n * C + c) * HW + hw];
#endif
}`,
    grid: pixelsGrid,
  });
}

const G = { N: 2, C: 3, H: 6, W: 6, Ho: 3, Wo: 3, k: 4, s: 2, p: 1 };
export const CONV_PROGRAMS = [
  im2colProgram(G),
  col2imProgram(G, false),
  col2imProgram(G, true, { op: 'tanh', slope: 0 }),
  permuteProgram('nchw_to_cn', { N: 2, C: 3, HW: 4 }),
  permuteProgram('cn_to_nchw', { N: 2, C: 3, HW: 4 }, true),
];
