/**
 * Matmul C[M,N] = A[M,K] · B[K,N], row-major float32. Numbered variants side by side, same
 * bindings and parameters, selectable by name; scripts/bench-adapters.ts times them.
 *
 *  - `naive`: one output per thread. The reference every other variant is checked against.
 *  - `vec4_8x8`: each thread keeps an 8x8 block of C in registers, reads A and B as vec4
 *    and uses no workgroup memory: on both CPU adapters this beat shared-memory tiling 3-4x.
 *    Needs K and N divisible by 4.
 */
import type { Kernel } from '../gpu/kernel.js';

export const MATMUL_VARIANTS = ['naive', 'vec4_8x8'] as const;
export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];

const PARAMS = /* wgsl */ `
struct Params { M: u32, N: u32, K: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> params: Params;`;

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
}

/** Workgroup grid for a variant and shape. */
export function matmulGrid(variant: MatmulVariant, { M, N }: MatmulShape): [number, number, number] {
  switch (variant) {
    case 'naive':
      return [Math.ceil(N / 8), Math.ceil(M / 8), 1];
    case 'vec4_8x8':
      return [Math.ceil(N / 64), Math.ceil(M / 64), 1];
  }
}

export function matmulSupports(variant: MatmulVariant, { N, K }: MatmulShape): boolean {
  return variant === 'naive' || (N % 4 === 0 && K % 4 === 0);
}

export function matmulKernel(variant: MatmulVariant): Kernel {
  return { name: `matmul.${variant}`, code: variant === 'naive' ? NAIVE : VEC4_8X8 };
}

const NAIVE = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x;
  let row = gid.y;
  if (row >= params.M || col >= params.N) { return; }
  var acc = 0.0;
  for (var k = 0u; k < params.K; k++) {
    acc += A[row * params.K + k] * B[k * params.N + col];
  }
  C[row * params.N + col] = acc;
}`;

const ROWS = [0, 1, 2, 3, 4, 5, 6, 7];
const VEC4_8X8 = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;  // [M, K/4]
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;  // [K, N/4]
@group(0) @binding(3) var<storage, read_write> C: array<vec4<f32>>;  // [M, N/4]

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = params.M;
  let K4 = params.K / 4u;
  let N4 = params.N / 4u;
  let row0 = gid.y * 8u;
  let col4 = gid.x * 2u;  // two vec4 columns = 8 floats
  if (row0 >= M || col4 >= N4) { return; }
  // Rows past M are clamped to the last row (computed, never stored).
  ${ROWS.map((i) => `let r${i} = min(row0 + ${i}u, M - 1u) * K4;`).join('\n  ')}
  let has_c1 = col4 + 1u < N4;
  let c1 = select(col4, col4 + 1u, has_c1);
  ${ROWS.map((i) => `var acc${i}0 = vec4<f32>(0.0); var acc${i}1 = vec4<f32>(0.0);`).join('\n  ')}
  for (var k4 = 0u; k4 < K4; k4++) {
    ${ROWS.map((i) => `let a${i} = A[r${i} + k4];`).join('\n    ')}
    for (var kk = 0u; kk < 4u; kk++) {
      let brow = (k4 * 4u + kk) * N4;
      let b0 = B[brow + col4];
      let b1 = B[brow + c1];
      ${ROWS.map((i) => `acc${i}0 += a${i}[kk] * b0; acc${i}1 += a${i}[kk] * b1;`).join('\n      ')}
    }
  }
  ${ROWS.map(
    (i) => `if (row0 + ${i}u < M) { C[(row0 + ${i}u) * N4 + col4] = acc${i}0; if (has_c1) { C[(row0 + ${i}u) * N4 + c1] = acc${i}1; } }`,
  ).join('\n  ')}
}`;
