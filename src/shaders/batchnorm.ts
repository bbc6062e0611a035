/**
 * BatchNorm over [N, C, HW] (BatchNorm1d: HW = 1; BatchNorm2d: HW = H*W), PyTorch semantics.
 * Training: batch mean and biased variance normalise; running stats move by `momentum` toward
 * the mean and the *unbiased* variance. One workgroup per channel owns all of that channel's
 * values, so statistics, running stats and outputs come from a single dispatch, deterministically.
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import type { Kernel } from '../gpu/kernel.js';
import { fusedConstants, fusedFns, fusedName, type FusedActivation } from './activation.js';
import { FLAT_ID } from './common.js';
import { channelHead, channelStride, sumFn, type ChannelStrategy } from './reduce.js';

export const BN_ELEMENTWISE_WG = 256;

/**
 * `first`: the training kernels normalise samples first .. first + N - 1 of a larger tensor (one
 * group of a batch whose groups keep their own statistics, as D's real and fake halves).
 */
export function batchNormParams(N: number, C: number, HW: number, eps: number, momentum: number, first = 0): ArrayBuffer {
  const buf = new ArrayBuffer(32);
  new Uint32Array(buf, 0, 3).set([N, C, HW]);
  new Float32Array(buf, 12, 2).set([eps, momentum]);
  new Uint32Array(buf, 20, 1)[0] = first;
  return buf;
}

const PARAMS = /* wgsl */ `
struct Params { N: u32, C: u32, HW: u32, eps: f32, momentum: f32, first: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> params: Params;`;

const AT = /* wgsl */ `
fn at(e: u32, c: u32) -> u32 {
  let n = e / params.HW;
  return ((params.first + n) * params.C + c) * params.HW + (e - n * params.HW);
}`;

/**
 * Training forward. saved[c] = mean, saved[C + c] = 1/sqrt(var + eps), kept for backward. With
 * `act`, y = act(BN(x)): the activation layer after it then costs no dispatch.
 */
export function batchNormTrainKernel(strategy: ChannelStrategy, act?: FusedActivation): Kernel {
  const STRIDE = channelStride(strategy);
  const out = act ? 'act_forward(x[i] * scale + shift)' : 'x[i] * scale + shift';
  return {
    name: `batchnorm.train_forward${fusedName(act)}.${strategy}`,
    constants: fusedConstants(act),
    code: /* wgsl */ `${PARAMS}
${fusedFns(act)}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> saved: array<f32>;
@group(0) @binding(6) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(7) var<storage, read_write> running_var: array<f32>;
${sumFn(strategy, 'sum_x')}
${sumFn(strategy, 'sum_sq')}
${AT}
${FLAT_ID}
${channelHead(strategy)}
  var s = 0.0;
  for (var e = lid; e < count; e += ${STRIDE}) { s += x[at(e, c)]; }
  let mean = sum_x(s, lid) * inv_count;
  // Two passes (sum of squared deviations) rather than E[x^2] - mean^2: no cancellation.
  var q = 0.0;
  for (var e = lid; e < count; e += ${STRIDE}) { let d = x[at(e, c)] - mean; q += d * d; }
  let sq = sum_sq(q, lid);
  let variance = sq * inv_count;
  let invstd = 1.0 / sqrt(variance + params.eps);
  let scale = gamma[c] * invstd;
  let shift = beta[c] - mean * scale;
  for (var e = lid; e < count; e += ${STRIDE}) { let i = at(e, c); y[i] = ${out}; }
  if (lid == 0u && count > 0u) {
    saved[c] = mean;
    saved[params.C + c] = invstd;
    let m = params.momentum;
    running_mean[c] = (1.0 - m) * running_mean[c] + m * mean;
    running_var[c] = (1.0 - m) * running_var[c] + m * sq / f32(count - 1u);
  }
}`,
  };
}

/** Eval forward: normalise with the running statistics. One thread per element. */
export function batchNormEvalKernel(): Kernel {
  return {
    name: 'batchnorm.eval_forward',
    code: /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> running_mean: array<f32>;
@group(0) @binding(6) var<storage, read> running_var: array<f32>;
${FLAT_ID}

@compute @workgroup_size(${BN_ELEMENTWISE_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, ${BN_ELEMENTWISE_WG}u);
  if (i >= params.N * params.C * params.HW) { return; }
  let c = (i / params.HW) % params.C;
  let invstd = 1.0 / sqrt(running_var[c] + params.eps);
  y[i] = (x[i] - running_mean[c]) * invstd * gamma[c] + beta[c];
}`,
  };
}

/**
 * Backward of the training forward. With xhat = (x - mean) * invstd:
 * dbeta = sum dy, dgamma = sum dy * xhat, dx = gamma * invstd / n * (n * dy - dbeta - xhat * dgamma).
 * `accumulate` adds dgamma/dbeta to the gradient arena (D sees real and fake batches). With `act`
 * (the forward fused it), dy is the gradient of act's output and `out` (binding 8) that
 * output: the activation's backward, dy * act'(out), happens in the loads.
 */
export function batchNormBackwardKernel(strategy: ChannelStrategy, accumulate: boolean, act?: FusedActivation): Kernel {
  const op = accumulate ? '+=' : '=';
  const STRIDE = channelStride(strategy);
  const grad = act ? 'dy[i] * act_derivative(out[i])' : 'dy[i]';
  return {
    name: `batchnorm.backward${fusedName(act)}.${strategy}${accumulate ? '+' : ''}`,
    constants: fusedConstants(act),
    code: wgsl`${PARAMS}
${fusedFns(act)}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> saved: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(7) var<storage, read_write> dbeta: array<f32>;
${act ? '@group(0) @binding(8) var<storage, read> out: array<f32>;' : ''}
${sumFn(strategy, 'sum2', 'vec2<f32>')}
${AT}
${FLAT_ID}
${channelHead(strategy)}
  let mean = saved[c];
  let invstd = saved[params.C + c];
  var s = vec2<f32>(0.0);
  for (var e = lid; e < count; e += ${STRIDE}) {
    let i = at(e, c);
    let g = ${grad};
    s += vec2<f32>(g, g * (x[i] - mean) * invstd);
  }
  let sums = sum2(s, lid);
  let sum_dy = sums.x;
  let sum_dy_xhat = sums.y;
  let k = gamma[c] * invstd * inv_count;
  for (var e = lid; e < count; e += ${STRIDE}) {
    let i = at(e, c);
    let xhat = (x[i] - mean) * invstd;
    dx[i] = k * (f32(count) * ${grad} - sum_dy - xhat * sum_dy_xhat);
  }
  if (lid == 0u && count > 0u) {
    dgamma[c] ${op} sum_dy_xhat;
    dbeta[c] ${op} sum_dy;
  }
}`,
  };
}
