/**
 * Pointwise activations: forward y = f(x), backward dx = dy * f'(.) computed from the saved
 * output y (cheaper than keeping x: every derivative here is a function of y).
 */
import { program } from '../gpu/program.js';
import { FLAT_ID, grid1d } from './common.js';

export const ACTIVATIONS = ['relu', 'leaky_relu', 'tanh', 'sigmoid'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const ACTIVATION_WG = 256;

const FORWARD: Record<Activation, string> = {
  relu: 'max(v, 0.0)',
  leaky_relu: 'select(slope * v, v, v > 0.0)',
  // tanh(x) is exactly +-1 in float32 beyond |x| = 9.1; clamping keeps sinh/cosh-based
  // implementations from producing inf/inf = NaN.
  tanh: 'tanh(clamp(v, -15.0, 15.0))',
  sigmoid: '1.0 / (1.0 + exp(-v))',
};

/** f'(x) written in terms of y = f(x). For leaky_relu, y > 0 exactly when x > 0 (slope > 0). */
const DERIVATIVE: Record<Activation, string> = {
  relu: 'select(0.0, 1.0, y > 0.0)',
  leaky_relu: 'select(slope, 1.0, y > 0.0)',
  tanh: '1.0 - y * y',
  sigmoid: 'y * (1.0 - y)',
};

/**
 * `act_forward(v)` and `act_derivative(y)` (from the output) in WGSL, for the activation kernels
 * and for kernels that fuse an activation (BatchNorm). A leaky_relu needs `override slope`.
 */
export function activationFns(act: Activation): string {
  return /* wgsl */ `
fn act_forward(v: f32) -> f32 { return ${FORWARD[act]}; }
fn act_derivative(y: f32) -> f32 { return ${DERIVATIVE[act]}; }`;
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
/** WGSL declarations a fusing kernel needs: `act_forward`, `act_derivative` and `slope`. */
export const fusedFns = (act?: FusedActivation) => (act ? `\noverride slope: f32 = 0.01;${activationFns(act.op)}` : '');
/** `value` with the fused activation applied (or as it is). */
export const fusedApply = (act: FusedActivation | undefined, value: string) => (act ? `act_forward(${value})` : value);

/** Shape of an activation dispatch: n values. */
export interface PointwiseShape {
  n: number;
}

const pointwiseGrid = ({ n }: PointwiseShape, max: number) => grid1d(n, ACTIVATION_WG, max);

export function activationForwardProgram(act: Activation, slope = 0.01) {
  return program({
    name: `activation.${act}_forward`,
    workgroupSize: [ACTIVATION_WG],
    uniforms: { n: 'u32' },
    bindings: { x: 'read', y: 'read_write' },
    constants: act === 'leaky_relu' ? { slope } : {},
    wgsl: `override slope: f32 = 0.01;${activationFns(act)}${FLAT_ID}`,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i >= params.n) { return; }
  y[i] = act_forward(x[i]);
}`,
    grid: pointwiseGrid,
  });
}

export function activationBackwardProgram(act: Activation, slope = 0.01) {
  return program({
    name: `activation.${act}_backward`,
    workgroupSize: [ACTIVATION_WG],
    uniforms: { n: 'u32' },
    bindings: { out: 'read', dy: 'read', dx: 'read_write' },
    constants: act === 'leaky_relu' ? { slope } : {},
    wgsl: `override slope: f32 = 0.01;${activationFns(act)}${FLAT_ID}`,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i >= params.n) { return; }
  dx[i] = dy[i] * act_derivative(out[i]);
}`,
    grid: pointwiseGrid,
  });
}

/** One of each program of this file, for the program test. */
export const ACTIVATION_PROGRAMS = ACTIVATIONS.flatMap((a) => [activationForwardProgram(a), activationBackwardProgram(a)]);
