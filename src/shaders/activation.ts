/**
 * Pointwise activations: forward y = f(x), backward dx = dy * f'(.) computed from the saved
 * output y (cheaper than keeping x: every derivative here is a function of y).
 */
import { program } from '../gpu/program.js';
import { FLAT_ID, grid1d, quads, valuesBinding, valueType, type ValueWidth } from './common.js';

export const ACTIVATIONS = ['relu', 'leaky_relu', 'tanh', 'sigmoid'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const ACTIVATION_WG = 256;

/**
 * f(v) and f'(x) (written in terms of y = f(x)) for a value type: f32, or vec4<f32> with each
 * constant splatted. For leaky_relu, y > 0 exactly when x > 0 (slope > 0).
 */
const FORWARD: Record<Activation, (k: (c: string) => string) => string> = {
  relu: (k) => `max(v, ${k('0.0')})`,
  leaky_relu: (k) => `select(slope * v, v, v > ${k('0.0')})`,
  // tanh(x) is exactly +-1 in float32 beyond |x| = 9.1; clamping keeps sinh/cosh-based
  // implementations from producing inf/inf = NaN.
  tanh: (k) => `tanh(clamp(v, ${k('-15.0')}, ${k('15.0')}))`,
  sigmoid: (k) => `${k('1.0')} / (${k('1.0')} + exp(-v))`,
};

const DERIVATIVE: Record<Activation, (k: (c: string) => string) => string> = {
  relu: (k) => `select(${k('0.0')}, ${k('1.0')}, y > ${k('0.0')})`,
  leaky_relu: (k) => `select(${k('slope')}, ${k('1.0')}, y > ${k('0.0')})`,
  tanh: (k) => `${k('1.0')} - y * y`,
  sigmoid: (k) => `y * (${k('1.0')} - y)`,
};

/**
 * `act_forward(v)` and `act_derivative(y)` (from the output) in WGSL, for the activation kernels
 * and for kernels that fuse an activation (BatchNorm). A leaky_relu needs `override slope`.
 */
export function activationFns(act: Activation, width: ValueWidth = 1): string {
  const T = valueType(width);
  const k = (c: string) => (width === 1 ? c : `${T}(${c})`);
  return /* wgsl */ `
fn act_forward(v: ${T}) -> ${T} { return ${FORWARD[act](k)}; }
fn act_derivative(y: ${T}) -> ${T} { return ${DERIVATIVE[act](k)}; }`;
}

/**
 * An activation run inside another kernel's output loop: BatchNorm's (forward and backward),
 * a GEMM's epilogue (matmul, implicit conv) or col2im's, so the activation layer after it costs
 * no forward dispatch.
 */
export interface FusedActivation {
  op: Activation;
  slope: number;
}

/** The suffix a fusing kernel's name gets, e.g. `+leaky_relu`. */
export const fusedName = (act?: FusedActivation) => (act ? `+${act.op}` : '');
/** The fusing kernel's override constants. */
export const fusedConstants = (act?: FusedActivation): Record<string, number> => (act?.op === 'leaky_relu' ? { slope: act.slope } : {});
/** WGSL declarations a fusing kernel needs: `act_forward`, `act_derivative` (on values of `width`) and `slope`. */
export const fusedFns = (act?: FusedActivation, width: ValueWidth = 1) => (act ? `\noverride slope: f32 = 0.01;${activationFns(act.op, width)}` : '');
/** `value` with the fused activation applied (or as it is). */
export const fusedApply = (act: FusedActivation | undefined, value: string) => (act ? `act_forward(${value})` : value);

/** Shape of an activation dispatch: n values. */
export interface PointwiseShape {
  n: number;
}

/** Invocations over n values at `width` values each; `n` must be a multiple of the width. */
function pointwiseGrid(name: string, width: ValueWidth) {
  return ({ n }: PointwiseShape, max: number) => {
    return grid1d(width === 4 ? quads(name, n) : n, ACTIVATION_WG, max);
  };
}

const widthName = (width: ValueWidth) => (width === 4 ? '.vec4' : '');
/** The invocations a pointwise kernel has work for. */
const count = (width: ValueWidth) => (width === 1 ? 'params.n' : `params.n / ${width}u`);

/** y = f(x), `width` values per invocation (see pointwiseWidth). */
export function activationForwardProgram(act: Activation, slope = 0.01, width: ValueWidth = 1) {
  const name = `activation.${act}_forward${widthName(width)}`;
  return program({
    name,
    workgroupSize: [ACTIVATION_WG],
    uniforms: { n: 'u32' },
    bindings: { x: valuesBinding('read', width), y: valuesBinding('read_write', width) },
    constants: act === 'leaky_relu' ? { slope } : {},
    wgsl: `override slope: f32 = 0.01;${activationFns(act, width)}${FLAT_ID}`,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i >= ${count(width)}) { return; }
  y[i] = act_forward(x[i]);
}`,
    grid: pointwiseGrid(name, width),
  });
}

/** dx = dy * f'(y), `width` values per invocation. */
export function activationBackwardProgram(act: Activation, slope = 0.01, width: ValueWidth = 1) {
  const name = `activation.${act}_backward${widthName(width)}`;
  return program({
    name,
    workgroupSize: [ACTIVATION_WG],
    uniforms: { n: 'u32' },
    bindings: { out: valuesBinding('read', width), dy: valuesBinding('read', width), dx: valuesBinding('read_write', width) },
    constants: act === 'leaky_relu' ? { slope } : {},
    wgsl: `override slope: f32 = 0.01;${activationFns(act, width)}${FLAT_ID}`,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i >= ${count(width)}) { return; }
  dx[i] = dy[i] * act_derivative(out[i]);
}`,
    grid: pointwiseGrid(name, width),
  });
}

/** One of each program of this file, for the program test. */
export const ACTIVATION_PROGRAMS = ACTIVATIONS.flatMap((a) =>
  ([1, 4] as const).flatMap((w) => [activationForwardProgram(a, 0.01, w), activationBackwardProgram(a, 0.01, w)]),
);
