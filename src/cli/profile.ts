/**
 * --profile: per-kernel GPU time of one training step (src/gpu/profiler.ts), printed as a table,
 * with a Chrome trace (chrome://tracing, Perfetto) written beside the run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GanTrainer } from '../train/trainer.js';
import { chromeTrace, formatProfileTable, profileMethod, profileTable } from '../gpu/profiler.js';

export class Profiler {
  /** Profiles one more step of the run (after its last checkpoint: that step is not saved). */
  async report(trainer: GanTrainer, outDir: string): Promise<void> {
    const { plan, timed } = await trainer.profileStep();
    const gpu = trainer.gpu;
    const total = timed.reduce((a, t) => a + t.durUs, 0);
    console.log(`\nprofile  one step at batch ${plan.batch} on ${gpu.describe()}, ${profileMethod(gpu)}: ${(total / 1000).toFixed(1)} ms in ${timed.length} dispatches`);
    console.log(formatProfileTable(profileTable(timed)));
    const file = join(outDir, 'profile.json');
    writeFileSync(file, JSON.stringify(chromeTrace(timed)));
    console.log(`trace    ${file} (open in chrome://tracing or https://ui.perfetto.dev)`);
  }
}
