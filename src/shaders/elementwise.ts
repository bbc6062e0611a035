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
    // x read, y read and written: 3 vec4s per vec4.
    bytes: ({ n }: { n: number }) => 48 * n,
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

export const PAD_WG = 256;
export const PAD_DIRECTIONS = ['pad', 'unpad', 'unpad+'] as const;
export type PadDirection = (typeof PAD_DIRECTIONS)[number];

/**
 * A [rows, width] matrix as [rows, padded] with zero columns appended (`pad`), or back (`unpad`;
 * `unpad+` adds into dst): an inner dimension made a multiple of 4 so that the vec4 GEMMs read it.
 */
export function padColumnsProgram(direction: PadDirection) {
  const pad = direction === 'pad';
  return program({
    name: `elementwise.${direction}_columns`,
    workgroupSize: [PAD_WG],
    uniforms: { rows: 'u32', width: 'u32', padded: 'u32' },
    bindings: { src: 'read', dst: 'read_write' },
    wgsl: FLAT_ID,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  let cols = ${pad ? 'params.padded' : 'params.width'};
  if (i >= params.rows * cols) { return; }
  let r = i / cols;
  let c = i - r * cols;
  ${pad ? `var v = 0.0;
  if (c < params.width) { v = src[r * params.width + c]; }
  dst[i] = v;` : `dst[i] ${direction === 'unpad+' ? '+=' : '='} src[r * params.padded + c];`}
}`,
    grid: ({ rows, width, padded }: { rows: number; width: number; padded: number }, max: number) => grid1d(rows * (pad ? padded : width), PAD_WG, max),
  });
}

export const ELEMENTWISE_PROGRAMS = [axpyProgram(0.5), copyIntoProgram(), ...PAD_DIRECTIONS.map(padColumnsProgram)];
