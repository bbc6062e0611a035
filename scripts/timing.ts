/** Wall-clock timing of prepared dispatches for the benchmarks: one submit per run, median. */
import type { Gpu } from '../src/gpu/gpu.js';
import type { Dispatch } from '../src/gpu/kernel.js';
import { median } from '../src/gpu/profiler.js';

export { median } from '../src/gpu/profiler.js';

/** Median ms of `repeat` runs (each submitted alone and waited for), after one warm-up run. */
export async function timeDispatches(gpu: Gpu, dispatches: readonly Dispatch[], repeat: number, warmUp = true): Promise<number> {
  if (warmUp) {
    gpu.run(dispatches);
    await gpu.sync('warm-up');
  }
  const times: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    gpu.run(dispatches);
    await gpu.sync('benchmark');
    times.push(performance.now() - t0);
  }
  return median(times);
}
