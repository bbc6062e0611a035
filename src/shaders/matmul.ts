/**
 * Matmul C[M,N] (+)= op(A)·op(B), float32, row-major. op(A) is A stored [M,K], or with `transA`
 * A stored [K,M]; op(B) is B stored [K,N], or with `transB` B stored [N,K]. Transposes are index
 * arithmetic, never copies. `accumulate` adds into C (gradients of D's real and fake passes).
 *
 * Variants, side by side, same bindings and parameters, selectable by name:
 *  - `naive`: one output per thread; any shape. The reference the others are checked against.
 *  - `vec4_8x8`: each thread keeps an 8x8 block of C in registers, reads A and B as vec4 and uses
 *    no workgroup memory: on both CPU adapters this beat shared-memory tiling 3-4x. Needs the
 *    dimension read contiguously to be a multiple of 4 (matmulSupports).
 */
import type { Kernel } from '../gpu/kernel.js';

export const MATMUL_VARIANTS = ['naive', 'vec4_8x8'] as const;
export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
}

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  accumulate?: boolean;
}

/** Uniform contents for a matmul: M, N, K. */
export function matmulParams({ M, N, K }: MatmulShape): Uint32Array {
  return new Uint32Array([M, N, K, 0]);
}

/** Workgroup grid for a variant and shape. */
export function matmulGrid(variant: MatmulVariant, { M, N }: MatmulShape): [number, number, number] {
  const per = variant === 'naive' ? 8 : 64;
  return [Math.ceil(N / per), Math.ceil(M / per), 1];
}

/** Whether `variant` handles this shape and layout. */
export function matmulSupports(variant: MatmulVariant, { M, N, K }: MatmulShape, o: MatmulOptions = {}): boolean {
  if (variant === 'naive') return true;
  const aInner = o.transA ? M : K;
  const bInner = o.transB ? K : N;
  return aInner % 4 === 0 && bInner % 4 === 0;
}

/** The fastest variant that supports the shape: what `auto` means. */
export function bestMatmulVariant(shape: MatmulShape, o: MatmulOptions = {}): MatmulVariant {
  return matmulSupports('vec4_8x8', shape, o) ? 'vec4_8x8' : 'naive';
}

export function matmulKernel(variant: MatmulVariant, o: MatmulOptions = {}): Kernel {
  const tag = `${o.transA ? 'T' : 'N'}${o.transB ? 'T' : 'N'}${o.accumulate ? '+' : ''}`;
  return { name: `matmul.${variant}.${tag}`, code: variant === 'naive' ? naive(o) : vec4Blocked(o) };
}

const PARAMS = /* wgsl */ `
struct Params { M: u32, N: u32, K: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> params: Params;`;

function store(o: MatmulOptions, index: string, value: string): string {
  return o.accumulate ? `C[${index}] += ${value};` : `C[${index}] = ${value};`;
}

function naive(o: MatmulOptions): string {
  const a = o.transA ? 'A[k * params.M + row]' : 'A[row * params.K + k]';
  const b = o.transB ? 'B[col * params.K + k]' : 'B[k * params.N + col]';
  return /* wgsl */ `${PARAMS}
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
    acc += ${a} * ${b};
  }
  ${store(o, 'row * params.N + col', 'acc')}
}`;
}

const I8 = [0, 1, 2, 3, 4, 5, 6, 7];
const I4 = [0, 1, 2, 3];
const lines = (xs: number[], f: (i: number) => string, sep = '\n  ') => xs.map(f).join(sep);

/**
 * Per k-step of 4, every layout costs 8 vec4 loads of A and 8 of B for 256 multiply-adds.
 * a(i, kk): A's value for block row i at k = 4*k4 + kk; b{0,1}(kk): vec4 of B at block columns
 * 0-3 and 4-7. Rows and columns past the edge are clamped (computed, never stored).
 */
function vec4Blocked(o: MatmulOptions): string {
  const loadA = o.transA
    ? lines(I4, (kk) => `let a${kk}lo = A[(k4 * 4u + ${kk}u) * M4 + ra]; let a${kk}hi = A[(k4 * 4u + ${kk}u) * M4 + rb];`, '\n    ')
    : lines(I8, (i) => `let a${i} = A[r${i} + k4];`, '\n    ');
  const aAt = (i: number, kk: number) => (o.transA ? `a${kk}${i < 4 ? 'lo' : 'hi'}[${i % 4}]` : `a${i}[${kk}]`);
  const loadB = o.transB
    ? lines(I8, (j) => `let b${j} = B[c${j} + k4];`, '\n    ')
    : lines(I4, (kk) => `let b${kk}lo = B[(k4 * 4u + ${kk}u) * N4 + col4]; let b${kk}hi = B[(k4 * 4u + ${kk}u) * N4 + c1];`, '\n    ');
  const bAt = (half: 'lo' | 'hi', kk: number) => {
    if (!o.transB) return `b${kk}${half}`;
    const js = half === 'lo' ? [0, 1, 2, 3] : [4, 5, 6, 7];
    return `vec4<f32>(${js.map((j) => `b${j}[${kk}]`).join(', ')})`;
  };
  const rowSetup = o.transA
    ? `let M4 = M / 4u; let ra = row0 / 4u; let rb = min(ra + 1u, M4 - 1u);`
    : lines(I8, (i) => `let r${i} = min(row0 + ${i}u, M - 1u) * K4;`);
  const colSetup = o.transB
    ? lines(I8, (j) => `let c${j} = min(col0 + ${j}u, N - 1u) * K4;`)
    : `let N4 = N / 4u; let col4 = col0 / 4u; let c1 = min(col4 + 1u, N4 - 1u);`;
  const fma = lines(
    I4,
    (kk) =>
      `{ let blo = ${bAt('lo', kk)}; let bhi = ${bAt('hi', kk)};\n      ` +
      lines(I8, (i) => `acc${i}lo += ${aAt(i, kk)} * blo; acc${i}hi += ${aAt(i, kk)} * bhi;`, '\n      ') +
      ' }',
    '\n    ',
  );
  const stores = lines(
    I8,
    (i) =>
      `if (row0 + ${i}u < M) {\n    let base = (row0 + ${i}u) * N;\n    ` +
      lines(I4, (j) => `if (col0 + ${j}u < N) { ${store(o, `base + col0 + ${j}u`, `acc${i}lo[${j}]`)} }`, '\n    ') +
      '\n    ' +
      lines(I4, (j) => `if (col0 + ${j + 4}u < N) { ${store(o, `base + col0 + ${j + 4}u`, `acc${i}hi[${j}]`)} }`, '\n    ') +
      '\n  }',
  );
  return /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = params.M;
  let N = params.N;
  let K4 = params.K / 4u;
  let row0 = gid.y * 8u;
  let col0 = gid.x * 8u;
  if (row0 >= M || col0 >= N) { return; }
  ${rowSetup}
  ${colSetup}
  ${lines(I8, (i) => `var acc${i}lo = vec4<f32>(0.0); var acc${i}hi = vec4<f32>(0.0);`)}
  for (var k4 = 0u; k4 < K4; k4++) {
    ${loadA}
    ${loadB}
    ${fma}
  }
  ${stores}
}`;
}
