/**
 * Register-block sweep of the implicit-GEMM convolution kernels (src/shaders/conv-gemm.ts) at one
 * layer's geometry: every block is prepared, then all are timed in alternation for R rounds
 * (median of 3 runs each) and the best round is reported, so load from elsewhere hits them alike.
 * What convGemmFixedProgram's choice comes from (`--tune full` races the same programs in a
 * run). Environment (all optional):
 *   BK=gles|swiftshader  GEO=N,C,H,G,Ho (default 64,64,14,128,7: D's Conv2d 64->128 at batch 64)
 *   MODES=forward,weight,transposed  BLOCKS=32x16,16x16,...  R=3
 * npx tsx --conditions=source scripts/bench-conv-blocks.ts
 */
import { requestGpu } from '../src/gpu/gpu.js';
import { convGemmBindings, convGemmDims, convGemmFlops, convGemmPackedSize, convGemmProgram, convGemmSizes, type ConvGemmMode } from '../src/shaders/conv-gemm.js';
import { timeDispatches } from './timing.js';
const gpu = await requestGpu({ backend: (process.env.BK ?? 'gles') as 'gles' });
const [N, C, H, G, Ho] = (process.env.GEO ?? '64,64,14,128,7').split(',').map(Number) as number[];
const g = { N: N!, C: C!, H: H!, W: H!, Ho: Ho!, Wo: Ho!, k: 4, s: 2, p: 1 };
const programs = (process.env.BLOCKS ?? '16x8,32x16,16x16,8x8').split(',').map((b) => convGemmProgram(`conv_${b}`));
const modes = (process.env.MODES ?? 'forward,weight,transposed').split(',') as ConvGemmMode[];
for (const mode of modes) {
  const sz = convGemmSizes({ mode, g, G: G! });
  const A = gpu.tensor('A', [convGemmPackedSize({ mode, g, G: G! }) || sz.A]), B = gpu.tensor('B', [sz.B]), out = gpu.tensor('o', [sz.out]);
  const ds = [];
  for (const program of programs) {
    const op = { mode, g, G: G! };
    const bindings = convGemmBindings(op, { A, B, out, dims: gpu.uniform('dims', convGemmDims(op)) });
    ds.push({ name: program.name, flops: convGemmFlops(op), d: await gpu.prepare(program.kernel(op), bindings, program.grid(op)) });
  }
  const best = new Map<string, number>();
  for (let r = 0; r < Number(process.env.R ?? 3); r++) for (const x of ds) best.set(x.name, Math.min(best.get(x.name) ?? Infinity, await timeDispatches(gpu, [x.d], 3)));
  for (const x of ds) console.log(`${mode} ${x.name}: ${best.get(x.name)!.toFixed(1)} ms, ${(x.flops / best.get(x.name)! / 1e6).toFixed(2)} GFLOP/s`);
}
gpu.destroy();
