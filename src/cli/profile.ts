/**
 * --profile: per-kernel GPU time of one training step (src/gpu/profiler.ts), each kernel set
 * against the adapter's roofline (src/layers/adapter-ceilings.ts), printed as a table, with a
 * Chrome trace (chrome://tracing, Perfetto) and the roofline as a picture written beside the run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GanTrainer } from '../train/trainer.js';
import { adapterCeilings } from '../layers/adapter-ceilings.js';
import { encodePng } from '../image/png.js';
import { rooflineChart } from '../image/roofline.js';
import { chromeTrace, formatCeilings, formatProfileTable, gemmShare, profileMethod, profileTable } from '../gpu/profiler.js';

export class Profiler {
  /** Profiles one more step of the run (after its last checkpoint: that step is not saved). */
  async report(trainer: GanTrainer, outDir: string): Promise<void> {
    const gpu = trainer.gpu;
    const ceilings = await adapterCeilings(gpu, { log: (line) => console.log(line) });
    const { plan, timed } = await trainer.profileStep();
    const total = timed.reduce((a, t) => a + t.durUs, 0);
    const rows = profileTable(timed, ceilings);
    console.log(`\nprofile  one step at batch ${plan.batch} on ${gpu.describe()}, ${profileMethod(gpu)}: ${(total / 1000).toFixed(1)} ms in ${timed.length} dispatches, ${(100 * gemmShare(rows)).toFixed(1)}% in GEMMs`);
    console.log(formatCeilings(ceilings));
    console.log(formatProfileTable(rows));
    const file = join(outDir, 'profile.json');
    writeFileSync(file, JSON.stringify(chromeTrace(timed, ceilings)));
    console.log(`trace    ${file} (open in chrome://tracing or https://ui.perfetto.dev)`);
    const picture = join(outDir, 'roofline.png');
    writeFileSync(picture, encodePng(rooflineChart(rows, ceilings)));
    console.log(`roofline ${picture} (each kernel at its FLOPs per byte and GFLOP/s, under the adapter's roofs)`);
  }
}
