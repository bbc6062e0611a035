/**
 * Spectral normalisation (Miyato et al. 2018) as torch.nn.utils.spectral_norm computes it, for a
 * weight W_orig viewed as an [h, w] matrix (dim 0 first: Conv2d's [out, in k k], Linear's
 * [out, in]), with u [h] and v [w] kept as state:
 *   training forward: v = normalize(W^T u), u = normalize(W v) (one power iteration, in place),
 *   then sigma = u . (W v) and W = W_orig / sigma; eval forward: sigma from the stored u and v.
 *   backward (u, v and sigma as the forward saw them, constants as in PyTorch's no_grad):
 *   dW_orig (+)= G / sigma - (sum(G * W_orig) / sigma^2) u v^T, G = dL/dW.
 * normalize(x) = x / max(|x|, eps), as F.normalize. Each is one workgroup: the weights of a
 * DCGAN's D are at most a few hundred thousand values, and the sums must be in one place.
 */
import { program } from '../gpu/program.js';
import { workgroupSum } from './reduce.js';

const SN_WG = 256;

export interface SpectralShape {
  h: number;
  w: number;
}

/** The power iteration (when `update` is 1), sigma, W = W_orig / sigma, and the saved u, v, sigma; `grad` zeroed for the layer's backward. */
export function spectralNormForwardProgram(training: boolean) {
  return program({
    name: `spectral_norm.forward${training ? '.train' : ''}`,
    workgroupSize: [SN_WG],
    uniforms: { h: 'u32', w: 'u32', eps: 'f32' },
    bindings: {
      w_orig: 'read',
      u: 'read_write',
      v: 'read_write',
      saved: 'read_write',
      weight: 'read_write',
      ...(training ? { grad: 'read_write' } : {}),
    },
    // One sum per use: a sum's array reused at once could be overwritten before every invocation has read it (reduce.ts).
    wgsl: [workgroupSum('v_total'), workgroupSum('t_total'), workgroupSum('u_total')].join('\n'),
    main: /* wgsl */ `fn main(@builtin(local_invocation_index) lid: u32) {
  let h = params.h;
  let w = params.w;
  // saved: [sigma, u (h values), v (w values)], what the backward reads.
  ${
    training
      ? /* wgsl */ `var vv = 0.0;
  for (var j = lid; j < w; j += WG_X) {
    var acc = 0.0;
    for (var i = 0u; i < h; i++) { acc += w_orig[i * w + j] * u[i]; }
    v[j] = acc;
    vv += acc * acc;
  }
  let v_norm = max(sqrt(v_total(vv, lid)), params.eps);
  storageBarrier();
  for (var j = lid; j < w; j += WG_X) { v[j] = v[j] / v_norm; }
  storageBarrier();`
      : ''
  }
  // t = W v, kept in saved's u slots until u is known.
  ${training ? 'var tt = 0.0;' : ''}
  for (var i = lid; i < h; i += WG_X) {
    var acc = 0.0;
    for (var j = 0u; j < w; j++) { acc += w_orig[i * w + j] * v[j]; }
    saved[1u + i] = acc;
    ${training ? 'tt += acc * acc;' : ''}
  }
  ${training ? 'let t_norm = max(sqrt(t_total(tt, lid)), params.eps);' : ''}
  storageBarrier();
  workgroupBarrier();
  var ut = 0.0;
  for (var i = lid; i < h; i += WG_X) {
    let t = saved[1u + i];
    ${training ? 'let ui = t / t_norm;\n    u[i] = ui;' : 'let ui = u[i];'}
    saved[1u + i] = ui;
    ut += ui * t;
  }
  let sigma = u_total(ut, lid);
  for (var j = lid; j < w; j += WG_X) { saved[1u + h + j] = v[j]; }
  if (lid == 0u) { saved[0] = sigma; }
  for (var k = lid; k < h * w; k += WG_X) {
    weight[k] = w_orig[k] / sigma;
    ${training ? 'grad[k] = 0.0;' : ''}
  }
}`,
    grid: () => [1, 1, 1] as const,
    flops: ({ h, w }: SpectralShape) => (training ? 4 : 2) * h * w,
  });
}

/** dW_orig (+)= G / sigma - (sum(G * W_orig) / sigma^2) u v^T, from the forward's saved [sigma, u, v]. */
export function spectralNormBackwardProgram(accumulate: boolean) {
  return program({
    name: `spectral_norm.backward${accumulate ? '+' : ''}`,
    workgroupSize: [SN_WG],
    uniforms: { h: 'u32', w: 'u32' },
    bindings: { g: 'read', w_orig: 'read', saved: 'read', out: 'read_write' },
    wgsl: workgroupSum('total'),
    main: /* wgsl */ `fn main(@builtin(local_invocation_index) lid: u32) {
  let h = params.h;
  let w = params.w;
  let n = h * w;
  var gw = 0.0;
  for (var k = lid; k < n; k += WG_X) { gw += g[k] * w_orig[k]; }
  let sigma = saved[0];
  let grad_sigma = -total(gw, lid) / (sigma * sigma);
  for (var k = lid; k < n; k += WG_X) {
    let i = k / w;
    let j = k - i * w;
    let d = g[k] / sigma + grad_sigma * saved[1u + i] * saved[1u + h + j];
    out[k] = ${accumulate ? 'out[k] + d' : 'd'};
  }
}`,
    grid: () => [1, 1, 1] as const,
    flops: ({ h, w }: SpectralShape) => 6 * h * w,
  });
}

export const SPECTRAL_NORM_PROGRAMS = [spectralNormForwardProgram(true), spectralNormForwardProgram(false), spectralNormBackwardProgram(false), spectralNormBackwardProgram(true)];
