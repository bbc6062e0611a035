/** Simple elementwise kernels: axpy (the bandwidth probe of the benchmarks) and bias add. */
import type { Kernel } from '../gpu/kernel.js';
import { FLAT_ID } from './common.js';

export const AXPY_WG = 256;

/** y = a * x + y over float32 vec4s. */
export function axpyKernel(a: number): Kernel {
  return {
    name: 'elementwise.axpy',
    constants: { a },
    code: /* wgsl */ `
override a: f32;
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
${FLAT_ID}
@compute @workgroup_size(${AXPY_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, ${AXPY_WG}u);
  if (i < arrayLength(&y)) { y[i] = a * x[i] + y[i]; }
}`,
  };
}

/** x[n, c, hw] += bias[c], in place (Linear's bias). Params: N, C, HW. */
export function biasAddKernel(): Kernel {
  return {
    name: 'elementwise.bias_add',
    code: /* wgsl */ `
struct Params { N: u32, C: u32, HW: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
${FLAT_ID}
@compute @workgroup_size(${AXPY_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, ${AXPY_WG}u);
  if (i >= params.N * params.C * params.HW) { return; }
  x[i] += bias[(i / params.HW) % params.C];
}`,
  };
}
