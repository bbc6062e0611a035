/**
 * BatchNorm over [N, C, HW] (BatchNorm1d: HW = 1; BatchNorm2d: HW = H*W), PyTorch semantics.
 * Training: batch mean and biased variance normalise; running stats move by `momentum` toward
 * the mean and the *unbiased* variance. One workgroup per channel owns all of that channel's
 * values, so statistics, running stats and outputs come from a single dispatch, deterministically.
 */
import { program, type BindingLayout } from '../gpu/program.js';
import { fusedConstants, fusedFns, fusedName, type FusedActivation } from './activation.js';
import { FLAT_ID, grid1d } from './common.js';
import { addIn, channelGrid, channelHead, channelLoop, channelPairType, channelParams, channelType, channelValues, channelWidth, channelWorkgroupSize, CHANNEL_FORMS, sumFn, type ChannelForm } from './reduce.js';

export const BN_ELEMENTWISE_WG = 256;

/** Shape of a BatchNorm dispatch: an [N, C, HW] tensor (`first`: see BN_UNIFORMS). */
export interface BatchNormShape {
  N: number;
  C: number;
  HW: number;
}

/**
 * `first`: the training kernels normalise samples first .. first + N - 1 of a larger tensor (one
 * group of a batch whose groups keep their own statistics, as D's real and fake halves).
 */
const BN_UNIFORMS = { N: 'u32', C: 'u32', HW: 'u32', eps: 'f32', momentum: 'f32', first: 'u32' } as const;

/**
 * Training forward. saved[c] = mean, saved[C + c] = 1/sqrt(var + eps), kept for backward (CS = C
 * entries of the per-channel arrays: see channelHead). With
 * `act`, y = act(BN(x)): the activation layer after it then costs no dispatch.
 */
export function batchNormTrainProgram(form: ChannelForm, act?: FusedActivation) {
  const over = (body: string) => channelLoop(form, body, 'params.first');
  const out = act ? 'act_forward(x[i] * scale + shift)' : 'x[i] * scale + shift';
  return program({
    name: `batchnorm.train_forward${fusedName(act)}.${form}`,
    workgroupSize: [channelWorkgroupSize(form)],
    uniforms: BN_UNIFORMS,
    bindings: {
      x: channelValues(form, 'read'),
      gamma: channelParams(form, 'read'),
      beta: channelParams(form, 'read'),
      y: channelValues(form, 'read_write'),
      saved: channelParams(form, 'read_write'),
      running_mean: channelParams(form, 'read_write'),
      running_var: channelParams(form, 'read_write'),
    },
    constants: fusedConstants(act),
    wgsl: `${fusedFns(act, channelWidth(form))}
${sumFn(form, 'sum_x')}
${sumFn(form, 'sum_sq')}
${addIn(form)}
${FLAT_ID}`,
    main: /* wgsl */ `${channelHead(form)}
  var s = ${channelType(form)}(0.0);
  ${over('s = add_in(s, x[i]);')}
  let mean = sum_x(s, lid) * inv_count;
  // Two passes (sum of squared deviations) rather than E[x^2] - mean^2: no cancellation.
  var q = ${channelType(form)}(0.0);
  ${over('let d = x[i] - mean; q = add_in(q, d * d);')}
  let sq = sum_sq(q, lid);
  let variance = sq * inv_count;
  let invstd = 1.0 / sqrt(variance + params.eps);
  let scale = gamma[c] * invstd;
  let shift = beta[c] - mean * scale;
  ${over(`y[i] = ${out};`)}
  if (lid == 0u && count > 0u) {
    saved[c] = mean;
    saved[CS + c] = invstd;
    let m = params.momentum;
    running_mean[c] = (1.0 - m) * running_mean[c] + m * mean;
    running_var[c] = (1.0 - m) * running_var[c] + m * sq / f32(count - 1u);
  }
}`,
    grid: (shape: BatchNormShape, max: number) => channelGrid(form, shape, max),
  });
}

/** Eval forward: normalise with the running statistics. One thread per element. */
export function batchNormEvalProgram() {
  return program({
    name: 'batchnorm.eval_forward',
    workgroupSize: [BN_ELEMENTWISE_WG],
    uniforms: BN_UNIFORMS,
    bindings: { x: 'read', gamma: 'read', beta: 'read', y: 'read_write', running_mean: 'read', running_var: 'read' },
    wgsl: FLAT_ID,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i >= params.N * params.C * params.HW) { return; }
  let c = (i / params.HW) % params.C;
  let invstd = 1.0 / sqrt(running_var[c] + params.eps);
  y[i] = (x[i] - running_mean[c]) * invstd * gamma[c] + beta[c];
}`,
    grid: ({ N, C, HW }: BatchNormShape, max: number) => grid1d(N * C * HW, BN_ELEMENTWISE_WG, max),
  });
}

/**
 * Backward of the training forward. With xhat = (x - mean) * invstd:
 * dbeta = sum dy, dgamma = sum dy * xhat, dx = gamma * invstd / n * (n * dy - dbeta - xhat * dgamma).
 * `accumulate` adds dgamma/dbeta to the gradient arena (D sees real and fake batches). With `act`
 * (the forward fused it), dy is the gradient of act's output and `out` that output: the
 * activation's backward, dy * act'(out), happens in the loads.
 */
export function batchNormBackwardProgram(form: ChannelForm, accumulate: boolean, act?: FusedActivation) {
  const op = accumulate ? '+=' : '=';
  const grad = act ? 'dy[i] * act_derivative(out[i])' : 'dy[i]';
  const values = (access: 'read' | 'read_write') => channelValues(form, access);
  const over = (body: string) => channelLoop(form, body, 'params.first', act ? ['x', 'dy', 'out'] : ['x', 'dy']);
  const perChannel = (access: 'read' | 'read_write') => channelParams(form, access);
  const bindings = { x: values('read'), gamma: perChannel('read'), saved: perChannel('read'), dy: values('read'), dx: values('read_write'), dgamma: perChannel('read_write'), dbeta: perChannel('read_write') } as const;
  return program({
    name: `batchnorm.backward${fusedName(act)}.${form}${accumulate ? '+' : ''}`,
    workgroupSize: [channelWorkgroupSize(form)],
    uniforms: BN_UNIFORMS,
    bindings: (act ? { ...bindings, out: values('read') } : bindings) as BindingLayout,
    constants: fusedConstants(act),
    wgsl: `${fusedFns(act, channelWidth(form))}
${sumFn(form, 'sum2', 'vec2<f32>')}
${addIn(form)}
${FLAT_ID}`,
    main: /* wgsl */ `${channelHead(form)}
  let mean = saved[c];
  let invstd = saved[CS + c];
  var s = ${channelPairType(form)}();
  ${over(`let g = ${grad};
      s = add_in2(s, g, g * (x[i] - mean) * invstd);`)}
  let sums = sum2(s, lid);
  let sum_dy = sums[0];
  let sum_dy_xhat = sums[1];
  let k = gamma[c] * invstd * inv_count;
  ${over(`let xhat = (x[i] - mean) * invstd;
      dx[i] = k * (f32(count) * ${grad} - sum_dy - xhat * sum_dy_xhat);`)}
  if (lid == 0u && count > 0u) {
    dgamma[c] ${op} sum_dy_xhat;
    dbeta[c] ${op} sum_dy;
  }
}`,
    grid: (shape: BatchNormShape, max: number) => channelGrid(form, shape, max),
  });
}

const LEAKY = { op: 'leaky_relu', slope: 0.2 } as const;
export const BATCHNORM_PROGRAMS = [
  batchNormEvalProgram(),
  ...CHANNEL_FORMS.flatMap((s) => [
    batchNormTrainProgram(s),
    batchNormTrainProgram(s, LEAKY),
    batchNormBackwardProgram(s, false),
    batchNormBackwardProgram(s, true, LEAKY),
  ]),
];
