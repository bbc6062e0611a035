/**
 * Fused Adam over a whole parameter arena in one dispatch, PyTorch 1.13 `_single_tensor_adam`
 * semantics (no amsgrad): m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g;
 * p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps), bias corrections bc = 1 - beta^step computed
 * in double on the host (as Python does) and rounded to float32 once.
 * Arena padding has g = m = v = 0, so it stays 0 and its parameters never move.
 */
import type { Kernel } from '../gpu/kernel.js';
import { FLAT_ID } from './common.js';

export const ADAM_WG = 256;

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** Uniform contents for step `step` (1-based, like PyTorch's state['step'] after increment). */
export function adamParams(n: number, step: number, h: AdamHyper): ArrayBuffer {
  const bc1 = 1 - h.beta1 ** step;
  const bc2 = 1 - h.beta2 ** step;
  const buf = new ArrayBuffer(32);
  new Uint32Array(buf, 0, 1)[0] = n;
  new Float32Array(buf, 4, 7).set([h.lr / bc1, Math.sqrt(bc2), h.beta1, 1 - h.beta1, h.beta2, 1 - h.beta2, h.eps]);
  return buf;
}

export function adamKernel(weightDecay = 0): Kernel {
  return {
    name: 'adam.step',
    constants: { weight_decay: weightDecay },
    code: /* wgsl */ `
override weight_decay: f32 = 0.0;
struct Params {
  n: u32, step_size: f32, bc2_sqrt: f32, beta1: f32,
  one_minus_beta1: f32, beta2: f32, one_minus_beta2: f32, eps: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
${FLAT_ID}

@compute @workgroup_size(${ADAM_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, ${ADAM_WG}u);
  if (i >= params.n) { return; }
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
  };
}
