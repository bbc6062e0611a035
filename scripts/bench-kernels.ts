/**
 * Kernel benchmark at the DCGAN's batch-64 shapes: every heavy op (forward, dX, dW) with each
 * matmul variant, against the best plain matmul at the same M, N, K on the same adapter in the
 * same run; thin layers' times. `npm run bench:kernels -- --help`.
 */
import { BACKENDS, type Backend } from '../src/gpu/backend.js';
import { requestGpu, type Gpu } from '../src/gpu/gpu.js';
import type { Dispatch } from '../src/gpu/kernel.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { BatchNorm1d, BatchNorm2d } from '../src/layers/batchnorm.js';
import { LeakyReLU } from '../src/layers/activation.js';
import { ConvTranspose2d } from '../src/layers/conv-transpose2d.js';
import { Conv2d } from '../src/layers/conv2d.js';
import type { Layer } from '../src/layers/layer.js';
import { type ConvPath, PlanBuilder } from '../src/layers/plan.js';
import { Linear } from '../src/layers/linear.js';
import { matmul } from '../src/layers/ops.js';
import { Sequential } from '../src/layers/sequential.js';
import { MATMUL_VARIANTS, matmulSupports } from '../src/shaders/matmul.js';
import { CHANNEL_STRATEGIES, type ChannelStrategy } from '../src/shaders/reduce.js';
import { runMain } from '../src/cli/args.js';
import { HELP_FLAG, choice, flagHelp, int, list, parseFlags, text } from '../src/cli/flags.js';
import { median, timeDispatches } from '../src/gpu/timer.js';

const FLAGS = {
  backend: list(choice(BACKENDS, ''), 'adapters, comma-separated', { default: ['swiftshader', 'gles'] }),
  variants: list(choice(['auto', ...MATMUL_VARIANTS] as const, ''), 'matmul variants for the heavy ops', { default: [...MATMUL_VARIANTS] }),
  conv: list(choice(['implicit', 'explicit'] as const, ''), 'convolution paths: implicit, explicit or both', { default: ['implicit', 'explicit'] }),
  batch: int('batch size', { default: 64 }),
  repeat: int('timed runs per measurement, median reported', { default: 3 }),
  only: text('time only the ops whose name contains this text (e.g. conditional)', { arg: 'TEXT' }),
  channels: list(choice(['auto', ...CHANNEL_STRATEGIES] as const, ''), "how BatchNorm's per-channel kernels own a channel, each a row (auto: the adapter's rule)", { default: ['auto'] }),
  ...HELP_FLAG,
};

const HELP = `Usage: npm run bench:kernels -- [options]

Times each DCGAN op at batch 64 on each adapter: forward, input gradient (dX) and weight
gradient (dW), with every matmul variant, and the best plain matmul at the op's M, N, K.
Convolutions run as implicit GEMMs (one row, "implicit") and through the explicit path
(im2col/col2im + each matmul variant).

${flagHelp(FLAGS)}`;

interface OpCase {
  name: string;
  layer: () => Layer;
  input: number[];
  /** 2 x useful multiply-adds of one of forward / dX / dW (they are equal for convs). */
  flops: number;
  /** The GEMM inside the op: its M, N, K. */
  gemm: { M: number; N: number; K: number };
  heavy: boolean;
  parts: Array<'forward' | 'dx' | 'dw'>;
}

function cases(B: number): OpCase[] {
  return [
    { name: 'ConvTranspose2d 128->64 (G)', layer: () => new ConvTranspose2d(128, 64, 4, 2, 1), input: [B, 128, 7, 7], flops: 2 * B * 128 * 64 * 16 * 49, gemm: { M: 1024, N: B * 49, K: 128 }, heavy: true, parts: ['forward', 'dx', 'dw'] },
    { name: 'Conv2d 64->128 (D)', layer: () => new Conv2d(64, 128, 4, 2, 1), input: [B, 64, 14, 14], flops: 2 * B * 128 * 64 * 16 * 49, gemm: { M: 128, N: B * 49, K: 1024 }, heavy: true, parts: ['forward', 'dx', 'dw'] },
    { name: 'ConvTranspose2d 64->1 (G)', layer: () => new ConvTranspose2d(64, 1, 4, 2, 1), input: [B, 64, 14, 14], flops: 2 * B * 64 * 16 * 196, gemm: { M: 16, N: B * 196, K: 64 }, heavy: false, parts: ['forward', 'dx', 'dw'] },
    { name: 'Conv2d 1->64 (D)', layer: () => new Conv2d(1, 64, 4, 2, 1), input: [B, 1, 28, 28], flops: 2 * B * 64 * 16 * 196, gemm: { M: 64, N: B * 196, K: 16 }, heavy: false, parts: ['forward', 'dw'] },
    { name: 'Linear 100->6272 (G)', layer: () => new Linear(100, 6272), input: [B, 100], flops: 2 * B * 100 * 6272, gemm: { M: B, N: 6272, K: 100 }, heavy: false, parts: ['forward', 'dw'] },
    { name: 'Linear 6272->1 (D)', layer: () => new Linear(6272, 1), input: [B, 6272], flops: 2 * B * 6272, gemm: { M: B, N: 1, K: 6272 }, heavy: false, parts: ['forward', 'dx', 'dw'] },
    // The conditional pair's ends (train --conditional): 110 inputs is no multiple of 4.
    { name: 'Linear 110->6272 (conditional G)', layer: () => new Linear(110, 6272), input: [B, 110], flops: 2 * B * 110 * 6272, gemm: { M: B, N: 6272, K: 110 }, heavy: true, parts: ['forward', 'dw'] },
    { name: 'Linear 6272->11 (conditional D)', layer: () => new Linear(6272, 11), input: [B, 6272], flops: 2 * B * 6272 * 11, gemm: { M: B, N: 11, K: 6272 }, heavy: false, parts: ['forward', 'dx', 'dw'] },
    { name: 'BatchNorm1d 6272 (G)', layer: () => new BatchNorm1d(6272), input: [B, 6272], flops: 0, gemm: { M: 0, N: 0, K: 0 }, heavy: false, parts: ['forward', 'dx'] },
    { name: 'BatchNorm2d 128 (D)', layer: () => new BatchNorm2d(128), input: [B, 128, 7, 7], flops: 0, gemm: { M: 0, N: 0, K: 0 }, heavy: false, parts: ['forward', 'dx'] },
    { name: 'LeakyReLU 64x14x14 (D)', layer: () => LeakyReLU(0.2), input: [B, 64, 14, 14], flops: 0, gemm: { M: 0, N: 0, K: 0 }, heavy: false, parts: ['forward', 'dx'] },
  ];
}

function fill(gpu: Gpu, t: Tensor, salt: number): void {
  gpu.write(t, Float32Array.from({ length: t.size }, (_, i) => (((i * 2654435761 + salt) >>> 0) % 1000) / 1000 - 0.5));
}

/** The best plain (untransposed) matmul GFLOP/s at this M, N, K over all variants. */
async function bestMatmul(gpu: Gpu, shape: { M: number; N: number; K: number }, repeat: number): Promise<{ gflops: number; variant: string; dispatches: Dispatch[] }> {
  const { M, N, K } = shape;
  const A = gpu.tensor('A', [M, K]);
  const B = gpu.tensor('B', [K, N]);
  const C = gpu.tensor('C', [M, N]);
  fill(gpu, A, 1);
  fill(gpu, B, 2);
  let best = { gflops: 0, variant: '', dispatches: [] as Dispatch[] };
  for (const variant of MATMUL_VARIANTS) {
    if (!matmulSupports(variant, shape)) continue;
    const plan = new PlanBuilder(gpu, { matmul: variant });
    await matmul(plan, A, B, C, shape);
    const ms = await timeDispatches(gpu, plan.dispatches, { samples: repeat });
    const gflops = (2 * M * N * K) / (ms * 1e6);
    if (gflops > best.gflops) best = { gflops, variant, dispatches: plan.dispatches };
  }
  return best;
}

async function benchBackend(backend: Backend, B: number, variants: string[], convs: ConvPath[], repeat: number, channelRows: Array<ChannelStrategy | 'auto'>, only?: string): Promise<void> {
  const gpu = await requestGpu({ backend });
  try {
    console.log(`\n### ${gpu.describe()}, batch ${B}\n`);
    console.log('| op | part | path / matmul variant | ms | GFLOP/s | op GFLOP/s / best matmul GFLOP/s at same M,N,K |');
    console.log('|---|---|---|---|---|---|');
    for (const c of cases(B).filter((c) => only === undefined || c.name.includes(only))) {
      const best = c.flops > 0 ? await bestMatmul(gpu, c.gemm, repeat) : null;
      const isConv = c.name.startsWith('Conv');
      const runs: Array<[string, ConvPath]> = isConv
        ? [...(convs.includes('implicit') ? [['auto', 'implicit'] as [string, ConvPath]] : []), ...(convs.includes('explicit') ? (c.heavy ? variants : ['auto']).map((v): [string, ConvPath] => [v, 'explicit']) : [])]
        : (c.heavy ? variants : ['auto']).map((v) => [v, 'auto']);
      const isNorm = c.name.startsWith('BatchNorm');
      for (const [variant, conv, strategy] of runs.flatMap(([v, p]) => (isNorm ? channelRows : ['auto' as const]).map((st) => [v, p, st] as const))) {
        const channels = strategy === 'auto' ? {} : { channels: strategy };
        const label = `${conv === 'implicit' ? 'implicit GEMM' : isConv ? `explicit, ${variant}` : variant}${strategy === 'auto' ? '' : `, channels by ${strategy}`}`;
        const layer = c.layer();
        const model = new Sequential('bench', [layer]).allocate(gpu);
        fill(gpu, model.params.all('param'), 3);
        fill(gpu, model.state.all('state'), 4);
        const x = gpu.tensor('x', c.input);
        fill(gpu, x, 5);
        const fwd = new PlanBuilder(gpu, { matmul: variant, conv, ...channels });
        const { y, tape } = await model.forward(fwd, x, { training: true });
        const dy = gpu.tensor('dy', y.shape);
        fill(gpu, dy, 6);
        for (const part of c.parts) {
          let dispatches = fwd.dispatches;
          if (part !== 'forward') {
            const bwd = new PlanBuilder(gpu, { matmul: variant, conv, ...channels });
            await layer.backward(bwd, tape[0]!, dy, { needDx: part === 'dx', paramGrads: part === 'dw', accumulate: false });
            dispatches = bwd.dispatches;
          }
          // The op and the best matmul at its M, N, K are timed alternately, so that load from
          // elsewhere on a shared machine hits both; the ratio is the median of the pairs'.
          const opTimes: number[] = [];
          const ratios: number[] = [];
          await timeDispatches(gpu, dispatches, { samples: 0 });
          for (let r = 0; r < repeat; r++) {
            const ms = await timeDispatches(gpu, dispatches, { samples: 1, warmUp: false });
            opTimes.push(ms);
            if (best) ratios.push((c.flops / ms) / ((2 * c.gemm.M * c.gemm.N * c.gemm.K) / (await timeDispatches(gpu, best.dispatches, { samples: 1, warmUp: false }))));
          }
          const ms = median(opTimes);
          const gflops = c.flops > 0 ? c.flops / (ms * 1e6) : 0;
          const rate = c.flops > 0 ? gflops.toFixed(2) : '-';
          const ratio = best ? `${(100 * median(ratios)).toFixed(0)}% (${best.variant} ${c.gemm.M}x${c.gemm.N}x${c.gemm.K})` : '-';
          console.log(`| ${c.name} | ${part} | ${label} | ${ms.toFixed(2)} | ${rate} | ${c.heavy ? ratio : `(thin) ${ratio}`} |`);
        }
        model.params.destroy();
        model.state.destroy();
      }
    }
  } finally {
    gpu.destroy();
  }
}

await runMain(async () => {
  const { values } = parseFlags(FLAGS, process.argv.slice(2));
  if (values.help) return console.log(HELP);
  const { backend: backends, variants, batch: B, repeat, conv: convs, only, channels } = values;
  console.log(`bench:kernels  batch ${B}, median of ${repeat} runs, adapters ${backends.join(', ')} (${BACKENDS.join('|')})`);
  for (const b of backends) await benchBackend(b, B, variants, convs, repeat, channels, only);
});
