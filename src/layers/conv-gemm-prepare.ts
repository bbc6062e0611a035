/**
 * The one way an implicit-GEMM convolution becomes dispatches, for layers, the tuner and the
 * benchmarks alike: a register block's program for the op, the uniform of its batch-dependent
 * sizes, and (for the forms that read a packed A) the pack that makes that A.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Binding, Dispatch } from '../gpu/kernel.js';
import { packUniforms } from '../gpu/program.js';
import { CONV_GEMM_UNIFORMS, convGemmDims, convGemmName, convGemmPackProgram, convGemmProgram, type ConvGemmOp } from '../shaders/conv-gemm.js';

export interface ConvGemmBindings {
  /** The row operand: packed (convGemmPackedSize floats) when the form packs it. */
  A: Binding;
  B: Binding;
  out: Binding;
  bias?: Binding;
}

/** The uniform of an op's batch-dependent sizes, shared by its pack and its GEMM. */
export function convGemmUniform(gpu: Gpu, op: ConvGemmOp, label: string): GPUBuffer {
  return gpu.uniform(label, new Uint32Array(packUniforms(CONV_GEMM_UNIFORMS, convGemmDims(op), convGemmName(op))));
}

/** The GEMM of `op` with register block `name` (conv_TMxTN). */
export async function prepareConvGemm(gpu: Gpu, name: string, op: ConvGemmOp, t: ConvGemmBindings, uniform: GPUBuffer): Promise<Dispatch> {
  if (!!op.bias !== !!t.bias) throw new Error(`${convGemmName(op)}: a bias epilogue needs a bias tensor, and a bias tensor needs op.bias`);
  const { A, B, out, bias } = t;
  return convGemmProgram(name).program(op).prepare(gpu, op, bias ? { A, B, out, bias } : { A, B, out }, { uniform });
}

/** The pack that turns `src` into the GEMM's packed A (`packed`, convGemmPackedSize floats). */
export async function prepareConvPack(gpu: Gpu, op: ConvGemmOp, src: Binding, packed: Binding, uniform: GPUBuffer): Promise<Dispatch> {
  // Only the weight form's pack reads the uniform; the others ignore it.
  return convGemmPackProgram(op).prepare(gpu, op, { src, packed }, { uniform });
}
