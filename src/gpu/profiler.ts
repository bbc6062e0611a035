/**
 * Per-kernel GPU time of a list of dispatches, for `train --profile` in Node and the page's
 * "profile one step" view alike. With timestamp queries (SwiftShader, real GPUs, browsers that
 * offer them) every dispatch gets its own compute pass with begin/end timestamps; without them
 * (the GLES adapter) each dispatch is submitted alone and timed on the CPU until the queue is
 * idle, which includes submit overhead.
 *
 * With the adapter's ceilings (its best GEMM rate and stream bandwidth) each kernel is also set
 * against its roofline: the time its FLOPs need at the GEMM roof or its bytes at the stream roof,
 * whichever is longer, as a share of the time it took.
 */
import type { Gpu } from './gpu.js';
import { timeSubmit } from './timer.js';
import type { Dispatch } from './kernel.js';


export interface TimedDispatch {
  d: Dispatch;
  startUs: number;
  durUs: number;
}

/** The adapter's roofs (src/layers/adapter-ceilings.ts measures them). */
export interface Ceilings {
  /** The best plain GEMM's GFLOP/s, and the variant that reached it. */
  gemmGflops: number;
  gemm: string;
  /** Stream bandwidth (an axpy), GB/s. */
  copyGBs: number;
  /** Read from the store rather than measured now. */
  cached: boolean;
}

/** One row of the profile table: a kernel and every dispatch of it. */
export interface KernelProfile {
  kernel: string;
  calls: number;
  ms: number;
  meanUs: number;
  /** GFLOP/s where the dispatches declare their FLOPs, else null. */
  gflops: number | null;
  /** GB/s of the bytes the dispatches must move (Program's `bytes`), else null. */
  gbs: number | null;
  /** Fraction of the profiled time. */
  share: number;
  /** With ceilings: GFLOP/s and GB/s as fractions of the adapter's roofs. */
  ofGemm?: number | null;
  ofCopy?: number | null;
  /**
   * With ceilings: the roof that limits this kernel (the larger of its FLOPs at the GEMM roof
   * and its bytes at the stream roof), and the fraction of that bound it reaches.
   */
  bound?: 'compute' | 'memory';
  ofRoofline?: number;
}

export function profileMethod(gpu: Gpu): string {
  return gpu.hasTimestamps ? 'GPU timestamp queries' : 'CPU wall time per isolated dispatch (no timestamp-query on this adapter)';
}

async function withTimestamps(gpu: Gpu, dispatches: readonly Dispatch[]): Promise<TimedDispatch[]> {
  const { device } = gpu;
  const n = dispatches.length;
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * n });
  const resolve = gpu.createBuffer('profile resolve', 16 * n, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
  try {
    const encoder = device.createCommandEncoder({ label: 'profile' });
    dispatches.forEach((d, i) => {
      const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.workgroups);
      pass.end();
    });
    encoder.resolveQuerySet(querySet, 0, 2 * n, resolve, 0);
    device.queue.submit([encoder.finish()]);
    const ticks = new BigInt64Array(await gpu.readBytes(resolve));
    const t0 = ticks[0]!;
    return dispatches.map((d, i) => ({
      d,
      startUs: Number(ticks[2 * i]! - t0) / 1000,
      durUs: Math.max(0, Number(ticks[2 * i + 1]! - ticks[2 * i]!) / 1000),
    }));
  } finally {
    gpu.destroyBuffer(resolve);
    querySet.destroy();
  }
}

async function withCpuClock(gpu: Gpu, dispatches: readonly Dispatch[]): Promise<TimedDispatch[]> {
  gpu.run([], 'profile');
  await gpu.sync('profile');
  const out: TimedDispatch[] = [];
  const origin = performance.now();
  for (const d of dispatches) {
    const t = performance.now();
    out.push({ d, startUs: (t - origin) * 1000, durUs: (await timeSubmit(gpu, [d], 'profile')) * 1000 });
  }
  return out;
}

/** Runs `dispatches` once (they do their real work) and times each. */
export function profileDispatches(gpu: Gpu, dispatches: readonly Dispatch[]): Promise<TimedDispatch[]> {
  return gpu.hasTimestamps ? withTimestamps(gpu, dispatches) : withCpuClock(gpu, dispatches);
}

/** Groups timed dispatches by kernel, slowest first; with ceilings, each against its roofline. */
export function profileTable(timed: readonly TimedDispatch[], ceilings?: Ceilings): KernelProfile[] {
  const total = timed.reduce((a, t) => a + t.durUs, 0);
  const rows = new Map<string, { calls: number; us: number; flops: number; bytes: number }>();
  for (const t of timed) {
    const r = rows.get(t.d.kernel) ?? { calls: 0, us: 0, flops: 0, bytes: 0 };
    r.calls++;
    r.us += t.durUs;
    r.flops += t.d.flops ?? 0;
    r.bytes += t.d.bytes ?? 0;
    rows.set(t.d.kernel, r);
  }
  return [...rows.entries()]
    .sort((a, b) => b[1].us - a[1].us)
    .map(([kernel, r]) => {
      const gflops = r.flops > 0 && r.us > 0 ? r.flops / (r.us * 1e3) : null;
      const gbs = r.bytes > 0 && r.us > 0 ? r.bytes / (r.us * 1e3) : null;
      const row: KernelProfile = { kernel, calls: r.calls, ms: r.us / 1000, meanUs: r.us / r.calls, gflops, gbs, share: total > 0 ? r.us / total : 0 };
      if (!ceilings) return row;
      // Microseconds this kernel's work needs at each roof; the larger one is its bound.
      const computeUs = r.flops / (ceilings.gemmGflops * 1e3);
      const memoryUs = r.bytes / (ceilings.copyGBs * 1e3);
      return {
        ...row,
        ofGemm: gflops === null ? null : gflops / ceilings.gemmGflops,
        ofCopy: gbs === null ? null : gbs / ceilings.copyGBs,
        bound: computeUs >= memoryUs ? 'compute' : 'memory',
        ofRoofline: r.us > 0 ? Math.max(computeUs, memoryUs) / r.us : 0,
      };
    });
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`);

/** The share of the profiled time in GEMMs (the dispatches that declare FLOPs: matmuls and conv GEMMs). */
export function gemmShare(rows: readonly KernelProfile[]): number {
  return rows.reduce((a, r) => a + (r.gflops === null ? 0 : r.share), 0);
}

/** The ceilings as one line, for the profile's header. */
export function formatCeilings(c: Ceilings): string {
  return `roofs    GEMM ${c.gemmGflops.toFixed(1)} GFLOP/s (matmul.${c.gemm}, 1024^3), stream ${c.copyGBs.toFixed(1)} GB/s (axpy)${c.cached ? ', measured earlier on this adapter' : ''}`;
}

/** The cells of a row, in the order of profileColumns (the CLI's Markdown and the page's table). */
export function profileCells(r: KernelProfile): string[] {
  const cells = [r.kernel, String(r.calls), r.ms.toFixed(2), r.meanUs.toFixed(0), r.gflops === null ? '-' : r.gflops.toFixed(2), r.gbs === null ? '-' : r.gbs.toFixed(2)];
  if (r.bound) cells.push(pct(r.ofGemm), pct(r.ofCopy), r.bound, pct(r.ofRoofline));
  cells.push(pct(r.share));
  return cells;
}

/** Column titles of profileCells; the roofline's four only where the rows have them. */
export function profileColumns(withRoofline: boolean): string[] {
  return ['kernel', 'calls', 'total ms', 'mean µs', 'GFLOP/s', 'GB/s', ...(withRoofline ? ['of GEMM roof', 'of stream roof', 'bound', 'of its roofline'] : []), 'share'];
}

/** The table as Markdown, the format `--profile` prints. */
export function formatProfileTable(rows: readonly KernelProfile[]): string {
  const columns = profileColumns(rows.some((r) => r.bound));
  const lines = [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---|').join('')}`];
  for (const r of rows) lines.push(`| ${profileCells(r).join(' | ')} |`);
  return lines.join('\n');
}

/** A Chrome trace (chrome://tracing, Perfetto) of the timed dispatches, each with its FLOPs, bytes and, with ceilings, its roofline. */
export function chromeTrace(timed: readonly TimedDispatch[], ceilings?: Ceilings): object {
  return {
    traceEvents: timed.map((t) => {
      const [row] = profileTable([t], ceilings);
      const args: Record<string, number | string> = {};
      if (t.d.flops) args.flops = t.d.flops;
      if (t.d.bytes) args.bytes = t.d.bytes;
      if (row!.gflops !== null) args.gflops = row!.gflops;
      if (row!.gbs !== null) args.gbs = row!.gbs;
      if (row!.bound) {
        if (row!.ofGemm != null) args.of_gemm_roof = row!.ofGemm;
        if (row!.ofCopy != null) args.of_stream_roof = row!.ofCopy;
        args.bound = row!.bound;
        args.of_roofline = row!.ofRoofline!;
      }
      return { name: t.d.kernel, cat: 'gpu', ph: 'X', ts: t.startUs, dur: t.durUs, pid: 1, tid: 1, args };
    }),
    displayTimeUnit: 'ms',
    ...(ceilings ? { metadata: { gemm_roof_gflops: ceilings.gemmGflops, gemm_roof_variant: ceilings.gemm, stream_roof_gbs: ceilings.copyGBs } } : {}),
  };
}
