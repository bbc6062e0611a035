/**
 * The one way a matmul becomes dispatches, for layers, the tuner, tests and benchmarks alike:
 * a variant's program, its uniform, and for split-K programs the scratch slices and the
 * reduction that sums them.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Binding, Dispatch } from '../gpu/kernel.js';
import {
  MATMUL_PROGRAMS,
  hasEpilogue,
  splitKReduceProgram,
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
  const variantProgram = MATMUL_PROGRAMS[variant];
  if (!!o.bias !== !!bias) throw new Error(`matmul ${M}x${N}x${K}: a bias epilogue needs a bias tensor, and a bias tensor needs options.bias`);
  if (o.aNchwHW && K % o.aNchwHW !== 0) throw new Error(`matmul ${M}x${N}x${K}: A read as NCHW needs K = samples x HW, found K ${K} for HW ${o.aNchwHW}`);
  if (o.bNchwHW && N % o.bNchwHW !== 0) throw new Error(`matmul ${M}x${N}x${K}: B read as NCHW needs N = samples x HW, found N ${N} for HW ${o.bNchwHW}`);
  const program = variantProgram.program(o);
  const slices = variantProgram.splitK?.(shape) ?? 1;
  if (slices === 1) {
    const params = program.uniform(gpu, { M, N, K, Ks: 0 }, `matmul ${M}x${N}x${K}`);
    const d = await program.prepare(gpu, shape, bias ? { A, B, C, bias } : { A, B, C }, { uniform: params });
    return { dispatches: [d], owned: [params] };
  }
  // Slices are whole 16-deep K steps of the tile.
  const Ks = Math.ceil(Math.ceil(K / slices) / 16) * 16;
  const S = Math.ceil(K / Ks);
  if (hasEpilogue(o)) throw new Error(`matmul ${variant}: split-K has no epilogue (bias, NCHW store, activation)`);
  const params = program.uniform(gpu, { M, N, K, Ks }, `matmul ${M}x${N}x${K} split ${S}`);
  const partial = gpu.tensor(`matmul ${M}x${N}x${K} split-K partials`, [S, M, N]);
  const d = await program.prepare(gpu, { ...shape, slices: S }, { A, B, C: partial }, { uniform: params });
  const reduce = splitKReduceProgram(!!o.accumulate);
  const reduceParams = reduce.uniform(gpu, { MN: M * N, S }, 'split-K reduce');
  const r = await reduce.prepare(gpu, { MN: M * N }, { P: partial, C }, { uniform: reduceParams });
  return { dispatches: [d, r], owned: [params, partial.buffer, reduceParams] };
}
