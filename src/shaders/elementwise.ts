/** Simple elementwise kernels: axpy (the bandwidth probe of the benchmarks), copy into part of a tensor. Biases are added in GEMM epilogues. */
import { program } from '../gpu/program.js';
import { FLAT_ID, grid1d } from './common.js';

export const AXPY_WG = 256;

/** y = a * x + y over float32 vec4s (n vec4s). */
export function axpyProgram(a: number) {
  return program({
    name: 'elementwise.axpy',
    workgroupSize: [AXPY_WG],
    bindings: { x: { access: 'read', type: 'array<vec4<f32>>' }, y: { access: 'read_write', type: 'array<vec4<f32>>' } },
    constants: { a },
    wgsl: `override a: f32;${FLAT_ID}`,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i < arrayLength(&y)) { y[i] = a * x[i] + y[i]; }
}`,
    grid: ({ n }: { n: number }, max: number) => grid1d(n, AXPY_WG, max),
  });
}

export const COPY_WG = 256;

/** dst[first + i] = src[i] for every i of src (n values): one tensor placed inside a larger one (D's real and fake halves). */
export function copyIntoProgram() {
  return program({
    name: 'elementwise.copy_into',
    workgroupSize: [COPY_WG],
    uniforms: { first: 'u32' },
    bindings: { src: 'read', dst: 'read_write' },
    wgsl: FLAT_ID,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i < arrayLength(&src)) { dst[params.first + i] = src[i]; }
}`,
    grid: ({ n }: { n: number }, max: number) => grid1d(n, COPY_WG, max),
  });
}

export const ELEMENTWISE_PROGRAMS = [axpyProgram(0.5), copyIntoProgram()];
