/**
 * Which CPU adapter should `--backend auto` fall back to? Runs the same kernels on SwiftShader and
 * on llvmpipe (GLES) in one process and prints time, rate and the ratio gles/swiftshader.
 * The result fixed DEFAULT_CPU_BACKEND (src/gpu/backend.ts); see docs/benchmarks.md.
 */
import type { CpuBackend } from '../src/gpu/backend.js';
import { requestGpu } from '../src/gpu/gpu.js';
import { axpyProgram } from '../src/shaders/elementwise.js';
import { prepareMatmul } from '../src/layers/matmul-prepare.js';
import { MATMUL_VARIANTS, type MatmulVariant } from '../src/shaders/matmul.js';
import { runMain } from '../src/cli/args.js';
import { HELP_FLAG, flagHelp, int, parseFlags } from '../src/cli/flags.js';
import { timeDispatches } from '../src/gpu/timer.js';

const FLAGS = {
  size: int('matmul size N (N x N x N), a multiple of 64', { default: 512 }),
  repeat: int('timed runs per kernel (the median is shown)', { default: 5 }),
  ...HELP_FLAG,
};

const HELP = `Usage: npm run bench:adapters -- [options]

Times a register-blocked matmul (N x N x N), a naive one and an elementwise axpy on both CPU
adapters in one process.

${flagHelp(FLAGS)}`;

interface Row {
  backend: CpuBackend;
  kernel: string;
  ms: number;
  rate: string;
  value: number;
}

async function benchBackend(backend: CpuBackend, n: number, repeat: number): Promise<Row[]> {
  const gpu = await requestGpu({ backend });
  const rows: Row[] = [];
  try {
    console.error(`${backend}: ${gpu.describe()}`);
    const A = gpu.tensor('A', [n, n], 'f32', Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13 - 0.5));
    const B = gpu.tensor('B', [n, n], 'f32', Float32Array.from({ length: n * n }, (_, i) => ((i * 5) % 11) / 11 - 0.5));
    const shape = { M: n, N: n, K: n };
    const results = new Map<MatmulVariant, Float32Array>();
    for (const variant of MATMUL_VARIANTS) {
      const C = gpu.tensor(`C ${variant}`, [n, n]);
      const { dispatches } = await prepareMatmul(gpu, variant, shape, {}, A, B, C);
      const ms = await timeDispatches(gpu, dispatches, { samples: repeat });
      const gflops = (2 * n * n * n) / (ms * 1e6);
      rows.push({ backend, kernel: `matmul.${variant} ${n}^3`, ms, rate: `${gflops.toFixed(2)} GFLOP/s`, value: gflops });
      results.set(variant, (await gpu.read(C)) as Float32Array);
    }
    // The fast variant must agree with the reference before its figure means anything.
    const ref = results.get('naive')!;
    const fast = results.get('vec4_8x8')!;
    let maxErr = 0;
    for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(ref[i]! - fast[i]!));
    if (maxErr > 1e-3) throw new Error(`${backend}: matmul.vec4_8x8 differs from matmul.naive by ${maxErr}`);

    const len = 1 << 22;
    const x = gpu.tensor('x', [len], 'f32', new Float32Array(len).fill(1));
    const y = gpu.tensor('y', [len]);
    const axpy = await axpyProgram(0.5).prepare(gpu, { n: len / 4 }, { x, y });
    const ms = await timeDispatches(gpu, [axpy], { samples: repeat });
    const gbs = (3 * 4 * len) / (ms * 1e6);
    rows.push({ backend, kernel: `axpy ${len} floats`, ms, rate: `${gbs.toFixed(2)} GB/s`, value: gbs });
  } finally {
    gpu.destroy();
  }
  return rows;
}

await runMain(async () => {
  const { values } = parseFlags(FLAGS, process.argv.slice(2));
  if (values.help) return console.log(HELP);
  const { size: n, repeat } = values;
  if (n % 64 !== 0) throw new Error(`--size: expected a multiple of 64, found "${n}"`);
  const rows = [...(await benchBackend('swiftshader', n, repeat)), ...(await benchBackend('gles', n, repeat))];
  console.log('| kernel | swiftshader | gles (llvmpipe) | gles / swiftshader |');
  console.log('|---|---|---|---|');
  for (const r of rows.filter((r) => r.backend === 'swiftshader')) {
    const g = rows.find((o) => o.backend === 'gles' && o.kernel === r.kernel)!;
    console.log(`| ${r.kernel} | ${r.ms.toFixed(1)} ms, ${r.rate} | ${g.ms.toFixed(1)} ms, ${g.rate} | ${(g.value / r.value).toFixed(2)}x |`);
  }
});
