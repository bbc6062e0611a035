/**
 * --profile: per-kernel GPU time of one training step. With timestamp queries (SwiftShader, real
 * GPUs) every dispatch gets its own compute pass with begin/end timestamps; without them (the
 * GLES adapter) each dispatch is submitted alone and timed on the CPU until the queue is idle,
 * which includes submit overhead. Prints a table and writes a Chrome trace (chrome://tracing,
 * Perfetto).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StepPlan } from '../src/gan/step.js';
import type { Gpu } from '../src/gpu/gpu.js';
import type { Dispatch } from '../src/gpu/kernel.js';

interface Timed {
  d: Dispatch;
  startUs: number;
  durUs: number;
}

export class Profiler {
  constructor(private readonly gpu: Gpu) {}

  private async timestamps(dispatches: readonly Dispatch[]): Promise<Timed[]> {
    const { device } = this.gpu;
    const n = dispatches.length;
    const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * n });
    const resolve = this.gpu.createBuffer('profile resolve', 16 * n, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
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
    const ticks = new BigInt64Array(await this.gpu.readBytes(resolve));
    this.gpu.destroyBuffer(resolve);
    querySet.destroy();
    const t0 = ticks[0]!;
    return dispatches.map((d, i) => ({
      d,
      startUs: Number(ticks[2 * i]! - t0) / 1000,
      durUs: Math.max(0, Number(ticks[2 * i + 1]! - ticks[2 * i]!) / 1000),
    }));
  }

  private async cpuTimed(dispatches: readonly Dispatch[]): Promise<Timed[]> {
    await this.gpu.sync('profile');
    const out: Timed[] = [];
    const origin = performance.now();
    for (const d of dispatches) {
      const t = performance.now();
      this.gpu.run([d], 'profile');
      await this.gpu.sync('profile');
      out.push({ d, startUs: (t - origin) * 1000, durUs: (performance.now() - t) * 1000 });
    }
    return out;
  }

  /** Profiles one more step of `plan` (after the run's last checkpoint: it is not saved). */
  async report(plan: StepPlan, outDir: string): Promise<void> {
    const dispatches = [...plan.inputs, ...plan.step];
    const timed = this.gpu.hasTimestamps ? await this.timestamps(dispatches) : await this.cpuTimed(dispatches);
    const method = this.gpu.hasTimestamps ? 'GPU timestamp queries' : 'CPU wall time per isolated dispatch (no timestamp-query on this adapter)';
    const total = timed.reduce((a, t) => a + t.durUs, 0);
    const rows = new Map<string, { calls: number; us: number; flops: number }>();
    for (const t of timed) {
      const r = rows.get(t.d.kernel) ?? { calls: 0, us: 0, flops: 0 };
      r.calls++;
      r.us += t.durUs;
      r.flops += t.d.flops ?? 0;
      rows.set(t.d.kernel, r);
    }
    const sorted = [...rows.entries()].sort((a, b) => b[1].us - a[1].us);
    console.log(`\nprofile  one step at batch ${plan.batch} on ${this.gpu.describe()}, ${method}: ${(total / 1000).toFixed(1)} ms in ${timed.length} dispatches`);
    console.log('| kernel | calls | total ms | mean µs | GFLOP/s | share |');
    console.log('|---|---|---|---|---|---|');
    for (const [kernel, r] of sorted) {
      const gflops = r.flops > 0 ? (r.flops / (r.us * 1e3)).toFixed(2) : '-';
      console.log(`| ${kernel} | ${r.calls} | ${(r.us / 1000).toFixed(2)} | ${(r.us / r.calls).toFixed(0)} | ${gflops} | ${((100 * r.us) / total).toFixed(1)}% |`);
    }
    const trace = {
      traceEvents: timed.map((t) => ({ name: t.d.kernel, cat: 'gpu', ph: 'X', ts: t.startUs, dur: t.durUs, pid: 1, tid: 1, args: t.d.flops ? { flops: t.d.flops } : {} })),
      displayTimeUnit: 'ms',
    };
    const file = join(outDir, 'profile.json');
    writeFileSync(file, JSON.stringify(trace));
    console.log(`trace    ${file} (open in chrome://tracing or https://ui.perfetto.dev)`);
  }
}
