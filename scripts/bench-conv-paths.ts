/**
 * Whole training steps with two convolution paths, alternated step by step in one process (the
 * machine's load hits both alike): median and best ms per step, and the ratio. Environment:
 *   BK=gles|swiftshader  CONVS=explicit,auto  ROUNDS=8  TUNE=off|quick
 * npx tsx --conditions=source scripts/bench-conv-paths.ts
 */
import { requestGpu } from '../src/gpu/gpu.js';
import { GanTrainer, REFERENCE_CONFIG } from '../src/gan/trainer.js';
import { loadImageSet } from '../src/mnist/files.js';
import type { ConvPath } from '../src/layers/layer.js';
const backend = (process.env.BK ?? 'gles') as 'gles';
const convs = (process.env.CONVS ?? 'explicit,auto').split(',') as ConvPath[];
const rounds = Number(process.env.ROUNDS ?? 8);
const set = loadImageSet('mnist', 'train');
const gpu = await requestGpu({ backend });
const trainers = [];
for (const conv of convs) {
  const t = await GanTrainer.create(gpu, set, { ...REFERENCE_CONFIG, conv, tune: (process.env.TUNE ?? 'off') as 'off' });
  for (let i = 0; i < 2; i++) await t.step();
  await gpu.sync('warm');
  trainers.push(t);
}
const times: number[][] = convs.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (const [i, t] of trainers.entries()) {
    const t0 = performance.now();
    await t.step();
    await gpu.sync('step');
    times[i]!.push(performance.now() - t0);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [i, c] of convs.entries()) console.log(`${backend} conv ${c}: median ${med(times[i]!).toFixed(1)} ms, min ${Math.min(...times[i]!).toFixed(1)} ms`);
console.log(`ratio ${convs[1]}/${convs[0]} (median): ${(med(times[1]!) / med(times[0]!)).toFixed(3)}`);
gpu.destroy();
