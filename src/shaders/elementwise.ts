/** Simple elementwise kernels: axpy (the bandwidth probe of the benchmarks), copy into part of a tensor. Biases are added in GEMM epilogues. */
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

export const COPY_WG = 256;

/** dst[first + i] = src[i] for every i of src: one tensor placed inside a larger one (D's real and fake halves). */
export function copyIntoKernel(): Kernel {
  return {
    name: 'elementwise.copy_into',
    code: /* wgsl */ `
struct Params { first: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
${FLAT_ID}
@compute @workgroup_size(${COPY_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, ${COPY_WG}u);
  if (i < arrayLength(&src)) { dst[params.first + i] = src[i]; }
}`,
  };
}
