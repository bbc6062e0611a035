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
import type { Kernel } from '../gpu/kernel.js';
import { FLAT_ID } from './common.js';

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

export function convGeometryParams(g: ConvGeometry): Uint32Array {
  return new Uint32Array([g.N, g.C, g.H, g.W, g.Ho, g.Wo, g.k, g.s, g.p, 0, 0, 0]);
}

const GEOMETRY = /* wgsl */ `
struct Geometry { N: u32, C: u32, H: u32, W: u32, Ho: u32, Wo: u32, k: u32, s: u32, p: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> g: Geometry;
${FLAT_ID}`;

/** col[(c,kh,kw), (n,oh,ow)] = image[n, c, oh*s-p+kh, ow*s-p+kw], 0 outside. One thread per col entry. */
export function im2colKernel(): Kernel {
  return {
    name: 'conv.im2col',
    code: /* wgsl */ `${GEOMETRY}
@group(0) @binding(1) var<storage, read> image: array<f32>;
@group(0) @binding(2) var<storage, read_write> col: array<f32>;

@compute @workgroup_size(${CONV_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, ${CONV_WG}u);
  let J = g.N * g.Ho * g.Wo;
  if (i >= g.C * g.k * g.k * J) { return; }
  let row = i / J;            // (c, kh, kw)
  let j = i - row * J;        // (n, oh, ow)
  let c = row / (g.k * g.k);
  let kh = (row / g.k) % g.k;
  let kw = row % g.k;
  let n = j / (g.Ho * g.Wo);
  let oh = (j / g.Wo) % g.Ho;
  let ow = j % g.Wo;
  let ih = i32(oh * g.s + kh) - i32(g.p);
  let iw = i32(ow * g.s + kw) - i32(g.p);
  var v = 0.0;
  if (ih >= 0 && iw >= 0 && ih < i32(g.H) && iw < i32(g.W)) {
    v = image[((n * g.C + c) * g.H + u32(ih)) * g.W + u32(iw)];
  }
  col[i] = v;
}`,
  };
}

/**
 * image[n, c, ih, iw] = sum of col[(c,kh,kw), (n,oh,ow)] over taps with oh*s-p+kh = ih (and
 * likewise for w), plus bias[c] when `bias`. One thread per image pixel.
 */
export function col2imKernel(bias: boolean): Kernel {
  return {
    name: bias ? 'conv.col2im_bias' : 'conv.col2im',
    code: wgsl`${GEOMETRY}
@group(0) @binding(1) var<storage, read> col: array<f32>;
@group(0) @binding(2) var<storage, read_write> image: array<f32>;
#if ${bias}
@group(0) @binding(3) var<storage, read> bias: array<f32>;
#endif

@compute @workgroup_size(${CONV_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, ${CONV_WG}u);
  if (i >= g.N * g.C * g.H * g.W) { return; }
  let iw = i % g.W;
  let ih = (i / g.W) % g.H;
  let c = (i / (g.W * g.H)) % g.C;
  let n = i / (g.W * g.H * g.C);
  let J = g.N * g.Ho * g.Wo;
  var acc = 0.0;
  for (var kh = 0u; kh < g.k; kh++) {
    let th = i32(ih + g.p) - i32(kh);        // = oh * s
    if (th < 0 || th % i32(g.s) != 0) { continue; }
    let oh = u32(th) / g.s;
    if (oh >= g.Ho) { continue; }
    for (var kw = 0u; kw < g.k; kw++) {
      let tw = i32(iw + g.p) - i32(kw);
      if (tw < 0 || tw % i32(g.s) != 0) { continue; }
      let ow = u32(tw) / g.s;
      if (ow >= g.Wo) { continue; }
      acc += col[((c * g.k + kh) * g.k + kw) * J + (n * g.Ho + oh) * g.Wo + ow];
    }
  }
#if ${bias}
  acc += bias[c];
#endif
  image[i] = acc;
}`,
  };
}

/** [N, C, HW] <-> [C, N*HW]. `toNchw` adds bias[c] when `bias`. Params: N, C, HW. */
export function permuteKernel(direction: 'nchw_to_cn' | 'cn_to_nchw', bias = false): Kernel {
  const toNchw = direction === 'cn_to_nchw';
  return {
    name: `conv.${direction}${bias ? '_bias' : ''}`,
    code: wgsl`
struct Params { N: u32, C: u32, HW: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
#if ${bias}
@group(0) @binding(3) var<storage, read> bias: array<f32>;
#endif
${FLAT_ID}

@compute @workgroup_size(${CONV_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, ${CONV_WG}u);
  if (i >= params.N * params.C * params.HW) { return; }
  // i walks the destination; find the same element in the source.
#if ${toNchw}
  let hw = i % params.HW;
  let c = (i / params.HW) % params.C;
  let n = i / (params.HW * params.C);
  var v = src[(c * params.N + n) * params.HW + hw];
#if ${bias}
  v += bias[c];
#endif
  dst[i] = v;
#else
  let hw = i % params.HW;
  let n = (i / params.HW) % params.N;
  let c = i / (params.HW * params.N);
  dst[i] = src[(n * params.C + c) * params.HW + hw];
#endif
}`,
  };
}
