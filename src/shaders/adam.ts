/**
 * Fused Adam over a whole parameter arena in one dispatch, PyTorch 1.13 `_single_tensor_adam`
 * semantics (no amsgrad): m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g;
 * p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps), bias corrections bc = 1 - beta^step computed
 * in double on the host (as Python does) and rounded to float32 once.
 * Arena padding has g = m = v = 0, so it stays 0 and its parameters never move. Four values per
 * invocation as vec4s (an arena's length is a multiple of 64 floats): 0.47x the time of one per
 * invocation on llvmpipe, 0.61x on SwiftShader, the same arithmetic per value.
 */
import { program } from '../gpu/program.js';
import { FLAT_ID, grid1d, quads, valuesBinding } from './common.js';

export const ADAM_WG = 256;

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** The step size and bias correction for the step, the betas, eps; the same for every weight decay. */
export const ADAM_UNIFORMS = { n: 'u32', step_size: 'f32', bc2_sqrt: 'f32', beta1: 'f32', one_minus_beta1: 'f32', beta2: 'f32', one_minus_beta2: 'f32', eps: 'f32' } as const;

/** Adam over n values (a multiple of 4), 4 per invocation. */
export function adamProgram(weightDecay = 0) {
  return program({
    name: 'adam.step',
    workgroupSize: [ADAM_WG],
    uniforms: ADAM_UNIFORMS,
    bindings: { param: valuesBinding('read_write', 4), grad: valuesBinding('read', 4), m: valuesBinding('read_write', 4), v: valuesBinding('read_write', 4) },
    constants: { weight_decay: weightDecay },
    wgsl: `override weight_decay: f32 = 0.0;${FLAT_ID}`,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i >= params.n / 4u) { return; }
  let p = param[i];
  let g = grad[i] + weight_decay * p;
  // Operation order as PyTorch's CPU kernels: mul_ then add_(alpha), addcmul_, addcdiv_.
  let m1 = m[i] * params.beta1 + params.one_minus_beta1 * g;
  let v1 = v[i] * params.beta2 + params.one_minus_beta2 * g * g;
  let denom = sqrt(v1) / params.bc2_sqrt + params.eps;
  m[i] = m1;
  v[i] = v1;
  param[i] = p + (-params.step_size) * m1 / denom;
}`,
    grid: ({ n }: { n: number }, max: number) => grid1d(quads('adam.step', n), ADAM_WG, max),
    // param, m and v read and written, grad read: 7 floats per value.
    bytes: ({ n }: { n: number }) => 28 * n,
  });
}

/** The uniform's values at step `step` (1-based, like PyTorch's state['step'] after increment). */
export function adamParams(n: number, step: number, h: AdamHyper) {
  const bc1 = 1 - h.beta1 ** step;
  const bc2 = 1 - h.beta2 ** step;
  return { n, step_size: h.lr / bc1, bc2_sqrt: Math.sqrt(bc2), beta1: h.beta1, one_minus_beta1: 1 - h.beta1, beta2: h.beta2, one_minus_beta2: 1 - h.beta2, eps: h.eps };
}

export const ADAM_PROGRAMS = [adamProgram()];
