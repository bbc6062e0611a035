/**
 * Per-kernel GPU time of a list of dispatches, for `train --profile` in Node and the page's
 * "profile one step" view alike. With timestamp queries (SwiftShader, real GPUs, browsers that
 * offer them) every dispatch gets its own compute pass with begin/end timestamps; without them
 * (the GLES adapter) each dispatch is submitted alone and timed on the CPU until the queue is
 * idle, which includes submit overhead.
 */
import type { Gpu } from './gpu.js';
import { timeSubmit } from './timer.js';
import type { Dispatch } from './kernel.js';


export interface TimedDispatch {
  d: Dispatch;
  startUs: number;
  durUs: number;
}

/** One row of the profile table: a kernel and every dispatch of it. */
export interface KernelProfile {
  kernel: string;
  calls: number;
  ms: number;
  meanUs: number;
  /** GFLOP/s where the dispatches declare their FLOPs, else null. */
  gflops: number | null;
  /** Fraction of the profiled time. */
  share: number;
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

/** Groups timed dispatches by kernel, slowest first. */
export function profileTable(timed: readonly TimedDispatch[]): KernelProfile[] {
  const total = timed.reduce((a, t) => a + t.durUs, 0);
  const rows = new Map<string, { calls: number; us: number; flops: number }>();
  for (const t of timed) {
    const r = rows.get(t.d.kernel) ?? { calls: 0, us: 0, flops: 0 };
    r.calls++;
    r.us += t.durUs;
    r.flops += t.d.flops ?? 0;
    rows.set(t.d.kernel, r);
  }
  return [...rows.entries()]
    .sort((a, b) => b[1].us - a[1].us)
    .map(([kernel, r]) => ({
      kernel,
      calls: r.calls,
      ms: r.us / 1000,
      meanUs: r.us / r.calls,
      gflops: r.flops > 0 && r.us > 0 ? r.flops / (r.us * 1e3) : null,
      share: total > 0 ? r.us / total : 0,
    }));
}

/** The table as Markdown, the format `--profile` prints. */
export function formatProfileTable(rows: readonly KernelProfile[]): string {
  const lines = ['| kernel | calls | total ms | mean µs | GFLOP/s | share |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.kernel} | ${r.calls} | ${r.ms.toFixed(2)} | ${r.meanUs.toFixed(0)} | ${r.gflops === null ? '-' : r.gflops.toFixed(2)} | ${(100 * r.share).toFixed(1)}% |`);
  }
  return lines.join('\n');
}

/** A Chrome trace (chrome://tracing, Perfetto) of the timed dispatches. */
export function chromeTrace(timed: readonly TimedDispatch[]): object {
  return {
    traceEvents: timed.map((t) => ({ name: t.d.kernel, cat: 'gpu', ph: 'X', ts: t.startUs, dur: t.durUs, pid: 1, tid: 1, args: t.d.flops ? { flops: t.d.flops } : {} })),
    displayTimeUnit: 'ms',
  };
}
