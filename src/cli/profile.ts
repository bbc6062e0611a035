/**
 * --profile: per-kernel GPU time of one training step (src/gpu/profiler.ts), printed as a table,
 * with a Chrome trace (chrome://tracing, Perfetto) written beside the run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StepPlan } from '../gan/step.js';
import type { Gpu } from '../gpu/gpu.js';
import { chromeTrace, formatProfileTable, profileDispatches, profileMethod, profileTable } from '../gpu/profiler.js';

export class Profiler {
  constructor(private readonly gpu: Gpu) {}

  /** Profiles one more step of `plan` (after the run's last checkpoint: it is not saved). */
  async report(plan: StepPlan, outDir: string): Promise<void> {
    const timed = await profileDispatches(this.gpu, [...plan.inputs, ...plan.step]);
    const total = timed.reduce((a, t) => a + t.durUs, 0);
    console.log(`\nprofile  one step at batch ${plan.batch} on ${this.gpu.describe()}, ${profileMethod(this.gpu)}: ${(total / 1000).toFixed(1)} ms in ${timed.length} dispatches`);
    console.log(formatProfileTable(profileTable(timed)));
    const file = join(outDir, 'profile.json');
    writeFileSync(file, JSON.stringify(chromeTrace(timed)));
    console.log(`trace    ${file} (open in chrome://tracing or https://ui.perfetto.dev)`);
  }
}
