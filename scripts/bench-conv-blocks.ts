/**
 * Register-block sweep of the implicit-GEMM convolution kernels (src/shaders/conv-gemm.ts) at one
 * layer's geometry: every block is prepared, then all are timed in alternation for R rounds
 * (median of 3 runs each) and the best round is reported, so load from elsewhere hits them alike.
 * What convGemmFixedProgram's choice comes from (`--tune full` races the same programs in a
 * run). On CPU adapters the weight form is also timed as `--conv auto` runs it there: im2col + an
 * A B^T GEMM (src/layers/ops.ts), and every form on batch-innermost copies of its operands, as
 * `--conv auto` runs them on llvmpipe. `npm run bench:conv-blocks -- --help`.
 */
import { BACKENDS } from '../src/gpu/backend.js';
import { requestGpu } from '../src/gpu/gpu.js';
import { runMain } from '../src/cli/args.js';
import { HELP_FLAG, choice, flagHelp, int, list, parseFlags, text } from '../src/cli/flags.js';
import { convGemmFlops, convGemmPackedSize, convGemmSizes, CONV_GEMM_BLOCKS, CONV_GEMM_MODES } from '../src/shaders/conv-gemm.js';
import { convGemmUniform, prepareConvGemm } from '../src/layers/conv-gemm-prepare.js';
import { timeDispatches } from '../src/gpu/timer.js';
import { batchInnermost, convForwardOnCol, convGemm, imageCol } from '../src/layers/ops.js';
import { PlanBuilder } from '../src/layers/plan.js';
import { MATMUL_VARIANTS } from '../src/shaders/matmul.js';

const FLAGS = {
  backend: choice(BACKENDS, 'the adapter', { default: 'gles' }),
  geometry: list(int('', { min: 1 }), "N,C,H,G,Ho: batch, input channels, input size, output channels, output size (4x4 kernel, stride 2, pad 1); the default is D's Conv2d 64->128 at batch 64", { arg: 'N,C,H,G,Ho', default: [64, 64, 14, 128, 7] }),
  modes: list(choice(CONV_GEMM_MODES, ''), 'index maps to time', { default: [...CONV_GEMM_MODES] }),
  blocks: list(text(''), `register blocks TMxTN, TN a multiple of 4 (the tuner races ${CONV_GEMM_BLOCKS.join(', ')})`, { default: ['16x8', '32x16', '16x16', '8x8'] }),
  'col-variants': list(choice(MATMUL_VARIANTS, ''), 'weight form, CPU adapters: also time it as im2col + an A B^T GEMM in these matmul variants (the --conv auto route; its grid pack included where Ho Wo is not a multiple of 4)', { arg: 'LIST', default: ['block_32x32', 'block_32x16'] }),
  'chwn-blocks': list(text(''), 'CPU adapters: also time each form on batch-innermost copies of its operands in these blocks (the --conv auto route on llvmpipe; batch a multiple of 4), and the copies alone (a layer makes each once for two products)', { arg: 'LIST', default: ['32x16', '32x32'] }),
  rounds: int('rounds of alternation; the best round is reported', { default: 3 }),
  ...HELP_FLAG,
};

const HELP = `Usage: npm run bench:conv-blocks -- [options]

Times every implicit conv GEMM register block at one layer's geometry, in alternation.

${flagHelp(FLAGS)}`;

await runMain(async () => {
  const { values: v } = parseFlags(FLAGS, process.argv.slice(2));
  if (v.help) return console.log(HELP);
  if (v.geometry.length !== 5) throw new Error(`--geometry: expected 5 numbers N,C,H,G,Ho, found "${v.geometry.join(',')}"`);
  const [N, C, H, G, Ho] = v.geometry as [number, number, number, number, number];
  const gpu = await requestGpu({ backend: v.backend });
  try {
    const g = { N, C, H, W: H, Ho, Wo: Ho, k: 4, s: 2, p: 1 };
    for (const mode of v.modes) {
      const op = { mode, g, G };
      const sz = convGemmSizes(op);
      const A = gpu.tensor('A', [convGemmPackedSize(op) || sz.A]), B = gpu.tensor('B', [sz.B]), out = gpu.tensor('o', [sz.out]);
      const ds = [];
      const dims = convGemmUniform(gpu, op, 'dims');
      for (const block of v.blocks) {
        const name = `conv_${block}`;
        ds.push({ name, flops: convGemmFlops(op), d: [await prepareConvGemm(gpu, name, op, { A, B, out }, dims)] });
      }
      if (mode === 'weight' && gpu.isSoftware) {
        const grid = gpu.tensor('grid', [sz.A]);
        for (const variant of v['col-variants']) {
          const plan = new PlanBuilder(gpu, { conv: 'auto', matmul: variant });
          await convGemm(plan, 'weight', g, G, grid, B, out);
          if (!plan.dispatches.some((d) => d.kernel.startsWith('conv.im2col'))) {
            console.log('weight: the im2col route does not apply at this geometry (K not a multiple of 4, or its buffer over a binding)');
            break;
          }
          ds.push({ name: `im2col + ${variant}`, flops: convGemmFlops(op), d: plan.dispatches });
        }
      }
      if (mode === 'forward' && gpu.isSoftware) {
        for (const variant of v['col-variants']) {
          const plan = new PlanBuilder(gpu, { conv: 'auto', matmul: variant });
          const col = await imageCol(plan, B, g, 'col');
          const withCol = plan.dispatches.length;
          await convForwardOnCol(plan, g, G, A, col, out);
          ds.push({ name: `im2col + ${variant}`, flops: convGemmFlops(op), d: plan.dispatches });
          ds.push({ name: `${variant} on a kept col`, flops: convGemmFlops(op), d: plan.dispatches.slice(withCol) });
        }
      }
      if (gpu.isSoftware && N % 4 === 0) {
        // The copies: forward and transposed read one (the image, the grid), weight both.
        const image = gpu.tensor('image', [N, C, H, H]), grid = gpu.tensor('grid', [N, G, Ho, Ho]);
        const copies = new PlanBuilder(gpu);
        const ic = mode === 'transposed' ? null : await batchInnermost(copies, image, 'image chwn');
        const gc = mode === 'forward' ? null : await batchInnermost(copies, grid, 'grid chwn');
        ds.push({ name: `chwn copies (${mode === 'weight' ? 'both' : mode === 'forward' ? 'image' : 'grid'})`, flops: convGemmFlops(op), d: copies.dispatches });
        for (const block of v['chwn-blocks']) {
          const plan = new PlanBuilder(gpu, { conv: 'auto', convBlock: `conv_${block}` });
          const [a, b] = mode === 'forward' ? [A, ic!] : mode === 'weight' ? [gc!, ic!] : [A, gc!];
          await convGemm(plan, mode, g, G, a, b, out, { batchInner: true });
          ds.push({ name: `chwn conv_${block}`, flops: convGemmFlops(op), d: plan.dispatches.slice(-1) });
        }
      }
      const best = new Map<string, number>();
      for (let r = 0; r < v.rounds; r++) for (const x of ds) best.set(x.name, Math.min(best.get(x.name) ?? Infinity, await timeDispatches(gpu, x.d, { samples: 3 })));
      for (const x of ds) console.log(`${mode} ${x.name}: ${best.get(x.name)!.toFixed(1)} ms, ${(x.flops / best.get(x.name)! / 1e6).toFixed(2)} GFLOP/s`);
    }
  } finally {
    gpu.destroy();
  }
});
