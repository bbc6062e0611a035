/**
 * BatchNorm over [N, C, HW] (BatchNorm1d: HW = 1; BatchNorm2d: HW = H*W), PyTorch semantics.
 * Training: batch mean and biased variance normalise; running stats move by `momentum` toward
 * the mean and the *unbiased* variance. One workgroup per channel owns all of that channel's
 * values, so statistics, running stats and outputs come from a single dispatch, deterministically.
 */
import { program, type BindingLayout } from '../gpu/program.js';
import { fusedConstants, fusedFns, fusedName, type FusedActivation } from './activation.js';
import { FLAT_ID, grid1d, valuesBinding } from './common.js';
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
 * group of a batch whose groups keep their own statistics, as D's real and fake halves);
 * `batch`: the samples of the whole tensor, for a dx written batch-innermost.
 */
const BN_UNIFORMS = { N: 'u32', C: 'u32', HW: 'u32', eps: 'f32', momentum: 'f32', first: 'u32', batch: 'u32' } as const;

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

/** Variants of the backward beyond its form. */
export interface BatchNormBackwardOptions {
  /** Add dgamma/dbeta (and with `dxSum` the sums of dx) to what is there. */
  accumulate?: boolean;
  /** The activation the forward fused. */
  act?: FusedActivation;
  /** Also write each channel's sum of dx to `dsum`: the bias gradient of the layer before, without its own pass over dx. */
  dxSum?: boolean;
  /**
   * Write dx batch-innermost, [C, HW, batch] (`params.batch`: the whole tensor's samples), as
   * the products of the convolution before read it: no copy kernel between them.
   */
  dxBatchInner?: boolean;
}

/**
 * WGSL storing the value `v` of dx at channel c, sample first + n, pixel hw into dx as
 * [C, HW, batch]: one store per value (4 for a vec4 of pixels or of channels).
 */
function batchInnerStore(form: ChannelForm, v: string): string {
  const at = (channel: string, pixel: string) => `dx[(${channel} * params.HW + ${pixel}) * params.batch + params.first + n]`;
  if (form === 'thread_vec4') return [0, 1, 2, 3].map((k) => `${at('c', `hw + ${k}u`)} = ${v}[${k}];`).join(' ');
  if (form === 'thread_channels4') return [0, 1, 2, 3].map((k) => `${at(`4u * c + ${k}u`, 'hw')} = ${v}[${k}];`).join(' ');
  return `${at('c', 'hw')} = ${v};`;
}

/**
 * Backward of the training forward. With xhat = (x - mean) * invstd:
 * dbeta = sum dy, dgamma = sum dy * xhat, dx = gamma * invstd / n * (n * dy - dbeta - xhat * dgamma).
 * `accumulate` adds dgamma/dbeta to the gradient arena (D sees real and fake batches). With `act`
 * (the forward fused it), dy is the gradient of act's output and `out` that output: the
 * activation's backward, dy * act'(out), happens in the loads.
 */
export function batchNormBackwardProgram(form: ChannelForm, { accumulate = false, act, dxSum = false, dxBatchInner = false }: BatchNormBackwardOptions = {}) {
  const op = accumulate ? '+=' : '=';
  const grad = act ? 'dy[i] * act_derivative(out[i])' : 'dy[i]';
  const values = (access: 'read' | 'read_write') => channelValues(form, access);
  const over = (body: string) => channelLoop(form, body, 'params.first', act ? ['x', 'dy', 'out'] : ['x', 'dy']);
  const perChannel = (access: 'read' | 'read_write') => channelParams(form, access);
  const dx = dxBatchInner ? valuesBinding('read_write', 1) : values('read_write');
  const bindings = { x: values('read'), gamma: perChannel('read'), saved: perChannel('read'), dy: values('read'), dx, dgamma: perChannel('read_write'), dbeta: perChannel('read_write') } as const;
  const variant = `${dxSum ? '.dsum' : ''}${dxBatchInner ? '.chwn' : ''}`;
  return program({
    name: `batchnorm.backward${fusedName(act)}.${form}${variant}${accumulate ? '+' : ''}`,
    workgroupSize: [channelWorkgroupSize(form)],
    uniforms: BN_UNIFORMS,
    bindings: { ...bindings, ...(act ? { out: values('read') } : {}), ...(dxSum ? { dsum: perChannel('read_write') } : {}) } as BindingLayout,
    constants: fusedConstants(act),
    wgsl: `${fusedFns(act, channelWidth(form))}
${sumFn(form, 'sum2', 'vec2<f32>')}
${dxSum ? sumFn(form, 'sum_dx') : ''}
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
  var t = ${channelType(form)}(0.0);
  ${over(`let xhat = (x[i] - mean) * invstd;
      let v = k * (f32(count) * ${grad} - sum_dy - xhat * sum_dy_xhat);
      ${dxBatchInner ? batchInnerStore(form, 'v') : 'dx[i] = v;'}${dxSum ? '\n      t = add_in(t, v);' : ''}`)}
  ${dxSum ? 'let total = sum_dx(t, lid);' : ''}
  if (lid == 0u && count > 0u) {
    dgamma[c] ${op} sum_dy_xhat;
    dbeta[c] ${op} sum_dy;${dxSum ? `\n    dsum[c] ${op} total;` : ''}
  }
}`,
    grid: (shape: BatchNormShape, max: number) => channelGrid(form, shape, max),
  });
}

const LEAKY = { op: 'leaky_relu', slope: 0.2 } as const;
const RELU = { op: 'relu', slope: 0 } as const;
export const BATCHNORM_PROGRAMS = [
  batchNormEvalProgram(),
  ...CHANNEL_FORMS.flatMap((s) => [
    batchNormTrainProgram(s),
    batchNormTrainProgram(s, LEAKY),
    batchNormBackwardProgram(s),
    batchNormBackwardProgram(s, { accumulate: true, act: LEAKY }),
    // The variants a BatchNorm after a convolution runs: dx summed for its bias, dx batch-innermost.
    batchNormBackwardProgram(s, { act: RELU, dxSum: true, dxBatchInner: true }),
    batchNormBackwardProgram(s, { accumulate: true, act: LEAKY, dxSum: true, dxBatchInner: true }),
    batchNormBackwardProgram(s, { act: RELU, dxSum: true }),
  ]),
];
