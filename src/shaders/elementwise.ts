/** Simple elementwise kernels: axpy (the bandwidth probe of the benchmarks). Biases are added in GEMM epilogues. */
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
