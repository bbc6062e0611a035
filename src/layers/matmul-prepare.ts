/**
 * The one way a matmul becomes dispatches, for layers, the tuner, tests and benchmarks alike:
 * a variant's program, its uniform, and for split-K programs the scratch slices and the
 * reduction that sums them.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Binding, Dispatch } from '../gpu/kernel.js';
import { grid1d } from '../shaders/common.js';
import {
  MATMUL_PROGRAMS,
  SPLITK_REDUCE_WG,
  hasEpilogue,
  matmulParams,
  splitKReduceKernel,
  type MatmulOptions,
  type MatmulShape,
  type MatmulVariant,
} from '../shaders/matmul.js';

export interface PreparedMatmul {
  dispatches: Dispatch[];
  /** Buffers made for these dispatches (uniforms, split-K scratch): the caller may destroy them. */
  owned: GPUBuffer[];
}

/** C[M,N] (+)= op(A) op(B) (+ bias) with `variant`; A, B, C (and bias) already checked against the shape. */
export async function prepareMatmul(gpu: Gpu, variant: MatmulVariant, shape: MatmulShape, o: MatmulOptions, A: Binding, B: Binding, C: Binding, bias?: Binding): Promise<PreparedMatmul> {
  const { M, N, K } = shape;
  const program = MATMUL_PROGRAMS[variant];
  if (!!o.bias !== !!bias) throw new Error(`matmul ${M}x${N}x${K}: a bias epilogue needs a bias tensor, and a bias tensor needs options.bias`);
  const flops = 2 * M * N * K;
  const slices = program.splitK?.(shape) ?? 1;
  if (slices === 1) {
    const params = gpu.uniform(`matmul ${M}x${N}x${K}`, matmulParams(shape));
    const d = await gpu.prepare(program.kernel(o), bias ? [params, A, B, C, bias] : [params, A, B, C], program.grid(shape));
    return { dispatches: [{ ...d, flops }], owned: [params] };
  }
  // Slices are whole 16-deep K steps of the tile.
  const Ks = Math.ceil(Math.ceil(K / slices) / 16) * 16;
  const S = Math.ceil(K / Ks);
  if (hasEpilogue(o)) throw new Error(`matmul ${variant}: split-K has no epilogue (bias, NCHW store, activation)`);
  const params = gpu.uniform(`matmul ${M}x${N}x${K} split ${S}`, matmulParams(shape, Ks));
  const partial = gpu.tensor(`matmul ${M}x${N}x${K} split-K partials`, [S, M, N]);
  const [gx, gy] = program.grid(shape);
  const d = await gpu.prepare(program.kernel(o), [params, A, B, partial], [gx, gy, S]);
  const reduceParams = gpu.uniform('split-K reduce', new Uint32Array([M * N, S, 0, 0]));
  const reduce = await gpu.prepare(splitKReduceKernel(!!o.accumulate), [reduceParams, partial, C], grid1d(M * N, SPLITK_REDUCE_WG, gpu.limits.maxComputeWorkgroupsPerDimension));
  return { dispatches: [{ ...d, flops }, reduce], owned: [params, partial.buffer, reduceParams] };
}
