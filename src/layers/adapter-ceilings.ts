/**
 * The adapter's own ceilings, the roofs of the roofline profile (src/gpu/profiler.ts): the best
 * plain GEMM rate, from the matmul variants that win somewhere on this kind of adapter at
 * 1024 x 1024 x 1024, and the stream bandwidth, from an axpy over two 64 MiB vectors (x read,
 * y read and written; smaller where the binding limit is). Measured once per adapter and runtime
 * and kept in the tuner's store beside its winners, so a later profile pays nothing.
 */
import { tuneStore } from '#gpu-adapter';
import { KernelError } from '../gpu/errors.js';
import type { Gpu } from '../gpu/gpu.js';
import type { Ceilings } from '../gpu/profiler.js';
import { repsToLast20ms, timeDispatches } from '../gpu/timer.js';
import { adapterKey, sourcesTag, type TuneStore } from '../gpu/tune-store.js';
import { axpyProgram } from '../shaders/elementwise.js';
import { MATMUL_PROGRAMS, matmulSupports, type MatmulVariant } from '../shaders/matmul.js';
import { prepareMatmul } from './matmul-prepare.js';
import { quickMatmulVariants } from './matmul-tuner.js';

export const CEILING_GEMM = 1024;
const STREAM_BYTES = 64 * 2 ** 20;

/** Timed runs per kernel (the median), each submit repeated to last at least ~20 ms. */
async function medianMs(gpu: Gpu, dispatches: Parameters<typeof timeDispatches>[1]): Promise<number> {
  const once = await timeDispatches(gpu, dispatches, { samples: 1, label: 'ceilings' });
  return timeDispatches(gpu, dispatches, { samples: 3, reps: repsToLast20ms(once, 50), warmUp: false, label: 'ceilings' });
}

/** The GEMMs timed for the roof. dot_wg64 (a workgroup per output, for one-row products) is never a big GEMM's ceiling and takes seconds at this size on a CPU. */
function ceilingCandidates(gpu: Gpu): MatmulVariant[] {
  const shape = { M: CEILING_GEMM, N: CEILING_GEMM, K: CEILING_GEMM };
  return quickMatmulVariants(gpu).filter((v) => v !== 'dot_wg64' && matmulSupports(v, shape, {}, gpu.isSoftware));
}

async function gemmCeiling(gpu: Gpu, log: (line: string) => void): Promise<Record<string, number>> {
  const n = CEILING_GEMM;
  const shape = { M: n, N: n, K: n };
  const fill = Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13 - 0.5);
  const [A, B, C] = [gpu.tensor('ceiling A', [n, n], 'f32', fill), gpu.tensor('ceiling B', [n, n], 'f32', fill), gpu.tensor('ceiling C', [n, n])];
  const timings: Record<string, number> = {};
  try {
    for (const variant of ceilingCandidates(gpu)) {
      let prepared;
      try {
        prepared = await prepareMatmul(gpu, variant, shape, {}, A, B, C);
      } catch (err) {
        if (!(err instanceof KernelError)) throw err;
        continue; // a variant this driver cannot build is no ceiling
      }
      try {
        timings[variant] = (2 * n ** 3) / ((await medianMs(gpu, prepared.dispatches)) * 1e6);
        log(`ceilings matmul.${variant} ${n}^3: ${timings[variant]!.toFixed(1)} GFLOP/s`);
      } finally {
        for (const b of prepared.owned) gpu.destroyBuffer(b);
      }
    }
  } finally {
    for (const t of [A, B, C]) gpu.destroyBuffer(t.buffer);
  }
  if (!Object.keys(timings).length) throw new KernelError('ceilings', 'no matmul variant could be built on this adapter');
  return Object.fromEntries(Object.entries(timings).sort((a, b) => b[1] - a[1]));
}

async function streamCeiling(gpu: Gpu): Promise<number> {
  const bytes = Math.min(STREAM_BYTES, Math.floor(gpu.limits.maxStorageBufferBindingSize / 16) * 16);
  const len = bytes / 4;
  const x = gpu.tensor('ceiling x', [len], 'f32', new Float32Array(len).fill(1));
  const y = gpu.tensor('ceiling y', [len]);
  try {
    const axpy = await axpyProgram(0.5).prepare(gpu, { n: len / 4 }, { x, y });
    return (3 * bytes) / ((await medianMs(gpu, [axpy])) * 1e6);
  } finally {
    gpu.destroyBuffer(x.buffer);
    gpu.destroyBuffer(y.buffer);
  }
}

/** The adapter's ceilings: from the store, or measured now (seconds on a CPU adapter) and stored. */
export async function adapterCeilings(gpu: Gpu, o: { store?: TuneStore | null; log?: (line: string) => void } = {}): Promise<Ceilings> {
  const { store = tuneStore(), log = () => {} } = o;
  // The kernels' sources are part of the key: a GEMM rewritten since is measured again.
  const sources = sourcesTag([...ceilingCandidates(gpu).map((v) => MATMUL_PROGRAMS[v].program().kernel.code), axpyProgram(0.5).kernel.code]);
  const key = `${adapterKey(gpu)}|ceilings ${CEILING_GEMM}^3, axpy ${STREAM_BYTES}|${sources}`;
  const records = store?.load() ?? {};
  const stored = records[key];
  if (stored && stored.mode === 'ceilings' && typeof stored.copyGBs === 'number' && stored.timings[stored.variant]) {
    return { gemmGflops: stored.timings[stored.variant]!, gemm: stored.variant, copyGBs: stored.copyGBs, cached: true };
  }
  log(`ceilings timing this adapter's best GEMM and stream bandwidth, once (cached in ${store?.where ?? 'memory only'})`);
  const timings = await gemmCeiling(gpu, log);
  const copyGBs = await streamCeiling(gpu);
  const [variant, gemmGflops] = Object.entries(timings)[0]!;
  records[key] = { variant, timings, mode: 'ceilings', copyGBs };
  store?.save(records);
  return { gemmGflops, gemm: variant, copyGBs, cached: false };
}
