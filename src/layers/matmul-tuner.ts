/**
 * Autotuning of the GEMMs: at first use of a matmul shape (or an implicit-GEMM convolution) on
 * an adapter, time the candidate variants (the conv GEMM programs' register blocks) on scratch
 * buffers of that shape and keep the fastest. Winners are cached per adapter (its
 * description plus the WebGPU runtime's version) and shape in a store (a JSON file in Node,
 * localStorage in a browser; see #gpu-adapter), so later runs pay nothing.
 *
 * Modes: `off` uses the fixed choice of bestMatmulVariant (no timing); `quick` times a short list
 * per adapter class and the fixed choice; `full` times every variant that supports the shape
 * (median of 3 in the first pass). In both, the candidates close to the best are timed again in
 * turn and keep their fastest (race).
 */
import { tuneStore } from '#gpu-adapter';
import { adapterKey, sourcesTag, type TuneRecord, type TuneStore } from '../gpu/tune-store.js';
import { KernelError } from '../gpu/errors.js';
import type { Gpu } from '../gpu/gpu.js';
import { repsToLast20ms, timeDispatches, timeSubmit } from '../gpu/timer.js';
import { prepareMatmul } from './matmul-prepare.js';
import { convGemmUniform, prepareConvGemm } from './conv-gemm-prepare.js';
import type { Dispatch } from '../gpu/kernel.js';
import {
  CONV_GEMM_BLOCKS,
  convGemmFixedProgram,
  convGemmFlops,
  convGemmName,
  convGemmPackedSize,
  convGemmProgram,
  convGemmShape,
  convGemmSizes,
  type ConvGemmOp,
} from '../shaders/conv-gemm.js';
import {
  MATMUL_PROGRAMS,
  MATMUL_VARIANTS,
  fixedMatmulVariant,
  layoutTag,
  matmulSupports,
  type MatmulOptions,
  type MatmulShape,
  type MatmulVariant,
} from '../shaders/matmul.js';

export const TUNE_MODES = ['off', 'quick', 'full'] as const;
export type TuneMode = (typeof TUNE_MODES)[number];

/** Timing passes of a race, and how close to the best a candidate must be to run again in later passes. */
const RACE_ROUNDS = 3;
const RACE_CLOSE = 1.3;


/**
 * The short lists of `quick`: what won somewhere on that kind of adapter (docs/benchmarks.md). SwiftShader
 * compiles big register blocks slowly (seconds each), so its list is shorter still. The
 * degenerate-shape forms (outer_4x4, gemv_vec4; measured on the CPU adapters only) are in every
 * list: they race only at K = 1 or M = 1, against naive.
 */
const QUICK_CPU: MatmulVariant[] = ['dot_wg64', 'outer_4x4', 'gemv_vec4', 'rowdot_vec4', 'vec4_8x8', 'block_8x8', 'block_16x8', 'block_16x16', 'block_32x16', 'splitk_8x8'];
const QUICK_SWIFTSHADER: MatmulVariant[] = ['outer_4x4', 'gemv_vec4', 'rowdot_vec4', 'vec4_8x8', 'block_8x8', 'block_16x16', 'block_32x16', 'blockdot_16x16', 'splitk_8x8'];
const QUICK_GPU: MatmulVariant[] = ['dot_wg64', 'outer_4x4', 'gemv_vec4', 'splitk_4x4', 'tiled_4x4', 'tiled_8x8', 'vec4_8x8', 'block_8x8', 'block_16x8'];
/** The matmul variants that won somewhere on this kind of adapter. */
export function quickMatmulVariants(gpu: Gpu): readonly MatmulVariant[] {
  return gpu.isSwiftShader ? QUICK_SWIFTSHADER : gpu.isSoftware ? QUICK_CPU : QUICK_GPU;
}

/**
 * Conv GEMM blocks `quick` races beside the fixed choice. None on the CPU adapters: the fixed
 * choice won every sweep there (conv-gemm.ts), and each candidate costs seconds of compilation
 * on a first run. Small blocks on GPUs, where big ones spill registers. `full` races them all.
 */
const QUICK_CONV_CPU: string[] = [];
export const QUICK_CONV_GPU = ['4x8', '8x8', '16x8'];


/**
 * A race's later passes: the candidates within RACE_CLOSE of the best are timed again, in turn,
 * RACE_ROUNDS - 1 times, each keeping its fastest (`ms` is updated in place). `time` gets the
 * candidate and its time so far.
 */
export async function retimeClose(ms: Record<string, number>, time: (name: string, lastMs: number) => Promise<number>): Promise<void> {
  const names = Object.keys(ms);
  if (names.length < 2) return;
  let best = Math.min(...Object.values(ms));
  for (let round = 1; round < RACE_ROUNDS; round++) {
    for (const name of names) {
      if (ms[name]! > RACE_CLOSE * best) continue;
      ms[name] = Math.min(ms[name]!, await time(name, ms[name]!));
      best = Math.min(best, ms[name]!);
    }
  }
}

export class MatmulTuner {
  private records: Record<string, TuneRecord> | null = null;
  private announced = false;
  private readonly adapterKey: string;
  /** What was decided in this process, for --profile and the benchmarks. */
  readonly decisions = new Map<string, TuneRecord>();

  constructor(
    readonly gpu: Gpu,
    readonly mode: TuneMode,
    private readonly store: TuneStore | null = tuneStore(),
    /** Progress lines (tuning takes seconds per shape on a CPU adapter). */
    private readonly log: (line: string) => void = () => {},
  ) {
    this.adapterKey = adapterKey(gpu);
  }

  /** The candidates and their sources are part of the key: a variant added or rewritten re-times the shapes it could win. */
  key(shape: MatmulShape, o: MatmulOptions): string {
    const candidates = this.candidates(shape, o);
    const sources = sourcesTag(candidates.map((v) => MATMUL_PROGRAMS[v].program(o).kernel.code));
    return `${this.adapterKey}|${shape.M}x${shape.N}x${shape.K}|${layoutTag(o)}|${this.mode}:${candidates.join(',')}|${sources}`;
  }

  candidates(shape: MatmulShape, o: MatmulOptions, mode: TuneMode = this.mode): MatmulVariant[] {
    // naive stays in every race: for degenerate shapes the vec4 forms outer_4x4 and gemv_vec4 do not read, it is the fast one.
    const quick = quickMatmulVariants(this.gpu);
    const pool: readonly MatmulVariant[] = mode === 'full' ? MATMUL_VARIANTS : ['naive', fixedMatmulVariant(this.gpu, shape, o), ...quick];
    // Scalar register blocks only race where no vec4 variant can read the layout.
    const vec4 = matmulSupports('vec4_8x8', shape, o);
    return [...new Set([...pool, 'scalar_4x4' as const])].filter((v) => matmulSupports(v, shape, o, this.gpu.isSoftware) && (v !== 'scalar_4x4' || !vec4));
  }

  /** The variant to use for this shape: cached, timed now, or (mode off) the fixed choice. */
  async choose(shape: MatmulShape, o: MatmulOptions): Promise<MatmulVariant> {
    const fixed = fixedMatmulVariant(this.gpu, shape, o);
    if (this.mode === 'off') return fixed;
    const key = this.key(shape, o);
    const variant = this.cached(key, MATMUL_VARIANTS) ?? (await this.decide(key, () => this.time(shape, o, this.candidates(shape, o))));
    return variant as MatmulVariant;
  }

  /** Conv GEMM programs raced for an op: every block with `full`, else the short list and the fixed choice. */
  convCandidates(op: ConvGemmOp, mode: TuneMode = this.mode): string[] {
    const { M } = convGemmShape(op);
    const quick = this.gpu.isSoftware ? QUICK_CONV_CPU : QUICK_CONV_GPU;
    // The dot form reads B along K: not with a batch-innermost B.
    const pool = mode === 'full' ? CONV_GEMM_BLOCKS.flatMap((b) => (op.batchInner ? [b] : [b, `${b}_dot`])) : quick;
    // A block taller than the op's rows only repeats rows (clamped).
    const raced = pool.map((b) => `conv_${b}`).filter((name) => convGemmProgram(name).block.tm <= Math.max(4, M));
    return [...new Set([convGemmFixedProgram(op, this.gpu), ...raced])];
  }

  /** The conv GEMM program for this op: cached, timed now, or (mode off) the fixed choice. */
  async chooseConv(op: ConvGemmOp): Promise<string> {
    const fixed = convGemmFixedProgram(op, this.gpu);
    if (this.mode === 'off') return fixed;
    const candidates = this.convCandidates(op);
    if (candidates.length === 1) return candidates[0]!;
    const sources = sourcesTag(candidates.map((name) => convGemmProgram(name).program(op).kernel.code));
    const key = `${this.adapterKey}|conv ${convGemmName(op)}|${this.mode}:${candidates.join(',')}|${sources}`;
    return this.cached(key, candidates) ?? this.decide(key, () => this.timeConv(op, candidates));
  }

  /** The stored winner under `key` when it is still one of `valid` (recorded as decided here). */
  private cached(key: string, valid: readonly string[]): string | null {
    this.records ??= this.store?.load() ?? {};
    const record = this.records[key];
    if (!record || !valid.includes(record.variant)) return null;
    this.decisions.set(key, record);
    return record.variant;
  }

  /** Times, records and stores a decision (announcing the first of a process). */
  private async decide(key: string, time: () => Promise<TuneRecord>): Promise<string> {
    if (!this.announced) {
      this.announced = true;
      this.log(`tune     timing GEMM variants per shape on this adapter, once (cached in ${this.store?.where ?? 'memory only'}; --tune off skips)`);
    }
    const record = await time();
    record.mode = this.mode;
    this.records![key] = record;
    this.decisions.set(key, record);
    this.store?.save(this.records!);
    return record.variant;
  }

  /** Times each conv program on scratch buffers of the op's sizes; returns the fastest. */
  private async timeConv(op: ConvGemmOp, candidates: readonly string[]): Promise<TuneRecord> {
    const { gpu } = this;
    const sizes = convGemmSizes(op);
    const [A, B, out, bias] = [
      gpu.tensor('tune conv A', [convGemmPackedSize(op) || sizes.A]),
      gpu.tensor('tune conv B', [sizes.B]),
      gpu.tensor('tune conv out', [sizes.out]),
      ...(op.bias ? [gpu.tensor('tune conv bias', [op.mode === 'transposed' ? op.g.C : op.G])] : []),
    ];
    const dims = convGemmUniform(gpu, op, 'tune conv dims');
    const bindings = { A: A!, B: B!, out: out!, ...(bias ? { bias } : {}) };
    try {
      return await this.race(convGemmName(op), convGemmFlops(op), candidates, async (name) => ({ dispatches: [await prepareConvGemm(gpu, name, op, bindings, dims)], owned: [] }));
    } finally {
      for (const t of [A, B, out, bias]) if (t) gpu.destroyBuffer(t.buffer);
      gpu.destroyBuffer(dims);
    }
  }

  /** Times each candidate on scratch buffers of the shape; returns the fastest. */
  async time(shape: MatmulShape, o: MatmulOptions, candidates: readonly MatmulVariant[]): Promise<TuneRecord> {
    const { gpu } = this;
    const { M, N, K } = shape;
    const A = gpu.tensor('tune A', [M * K]);
    const B = gpu.tensor('tune B', [K * N]);
    const C = gpu.tensor('tune C', [M * N]);
    const bias = o.bias ? gpu.tensor('tune bias', [o.bias === 'row' ? M : N]) : undefined;
    const owned: GPUBuffer[] = [];
    try {
      return await this.race(`matmul ${M}x${N}x${K} ${layoutTag(o)}`, 2 * M * N * K, candidates, async (v) => {
        const prepared = await prepareMatmul(gpu, v as MatmulVariant, shape, o, A, B, C, bias);
        owned.push(...prepared.owned);
        return prepared;
      });
    } finally {
      for (const b of [A.buffer, B.buffer, C.buffer, ...(bias ? [bias.buffer] : []), ...owned]) gpu.destroyBuffer(b);
    }
  }

  /**
   * The race itself: each candidate prepared (`prepare`, on the caller's scratch buffers) and
   * timed in turn; then the candidates within RACE_CLOSE of the best are timed again, in turn,
   * RACE_ROUNDS - 1 more times, each keeping its fastest. A CPU adapter's host can change speed
   * by 1.5x within a race, so one pass in order misranks close candidates (block_16x16 once won
   * D's weight gradient at 15 GFLOP/s against block_32x32's 22 in the same step). The record
   * lists every candidate's GFLOP/s, fastest first.
   */
  private async race(what: string, flops: number, candidates: readonly string[], prepare: (name: string) => Promise<{ dispatches: Dispatch[] }>): Promise<TuneRecord> {
    const t0 = performance.now();
    const ms: Record<string, number> = {};
    const raced = new Map<string, Dispatch[]>();
    let best = Infinity;
    for (const name of candidates) {
      let d: Dispatch[];
      try {
        d = (await prepare(name)).dispatches;
      } catch (err) {
        // A driver that cannot build a variant (e.g. a huge register block) just loses the race.
        if (!(err instanceof KernelError)) throw err;
        this.log(`tune     ${what}: ${name} skipped: ${err.message.split('\n')[0]}`);
        continue;
      }
      ms[name] = await this.timeDispatch(d, this.mode === 'full' ? 3 : 1, best);
      best = Math.min(best, ms[name]!);
      raced.set(name, d);
    }
    if (raced.size === 0) throw new KernelError(what, 'no candidate could be built on this adapter');
    await retimeClose(ms, (name, last) => timeDispatches(this.gpu, raced.get(name)!, { samples: 1, reps: repsToLast20ms(last, 200), warmUp: false, label: 'tuning' }));
    const sorted = Object.entries(ms).map(([name, t]): [string, number] => [name, flops / (t * 1e6)]).sort((a, b) => b[1] - a[1]);
    this.log(`tune     ${what}: ${sorted[0]![0]} ${sorted[0]![1].toFixed(1)} GFLOP/s (${sorted.length} candidates, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return { variant: sorted[0]![0], timings: Object.fromEntries(sorted), mode: this.mode };
  }

  /**
   * Median ms per dispatch. Two runs first (compilation, first-touch; the second one timed
   * to size the repetitions and cut hopeless candidates short), then the dispatch is
   * repeated inside one submit often enough (>= ~20 ms) that submit overhead, which dominates
   * a small dispatch on a real GPU, does not decide the race.
   */
  private async timeDispatch(d: readonly Dispatch[], samples: number, bestMs: number): Promise<number> {
    const { gpu } = this;
    // The first run pays for compilation (llvmpipe compiles at first dispatch): not timed.
    await timeSubmit(gpu, d, 'tuning');
    const once = await timeSubmit(gpu, d, 'tuning');
    // Hopeless candidates (a shared-memory kernel on a CPU adapter) are not worth more seconds.
    if (once > 4 * bestMs && once > 50) return once;
    return timeDispatches(gpu, d, { samples, reps: repsToLast20ms(once, 200), warmUp: false, label: 'tuning' });
  }
}
