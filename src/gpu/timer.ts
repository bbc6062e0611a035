/**
 * The one wall-clock timer of GPU work, for the tuner, the profiler's CPU-clock path and the
 * benchmark scripts: a submit timed from before it is made to after the queue has drained.
 */
import type { Gpu } from './gpu.js';
import type { Dispatch } from './kernel.js';

/** The median of timings (the upper middle for an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Repetitions of a dispatch list that took `onceMs` inside one submit so that the submit lasts
 * at least ~20 ms: submit overhead, which dominates a small dispatch on a real GPU, must not
 * decide a timing.
 */
export const repsToLast20ms = (onceMs: number, max: number): number => Math.max(1, Math.min(max, Math.ceil(20 / Math.max(onceMs, 1e-3))));

/** Milliseconds of one submit of `dispatches`, waited for. */
export async function timeSubmit(gpu: Gpu, dispatches: readonly Dispatch[], label = 'timing'): Promise<number> {
  const t = performance.now();
  gpu.run(dispatches, label);
  await gpu.sync(label);
  return performance.now() - t;
}

export interface TimingOptions {
  /** Timed submits; the median is returned. */
  samples: number;
  /** The list repeated this many times inside each submit (amortises submit overhead); the time is per repetition. */
  reps?: number;
  /** One untimed run first (compilation: llvmpipe compiles at first dispatch; first touch). */
  warmUp?: boolean;
  label?: string;
}

/** Median milliseconds per run of `dispatches`. */
export async function timeDispatches(gpu: Gpu, dispatches: readonly Dispatch[], o: TimingOptions): Promise<number> {
  const { samples, reps = 1, warmUp = true, label = 'timing' } = o;
  if (warmUp) await timeSubmit(gpu, dispatches, label);
  const list = reps === 1 ? dispatches : Array.from({ length: reps }, () => dispatches).flat();
  const times: number[] = [];
  for (let s = 0; s < samples; s++) times.push((await timeSubmit(gpu, list, label)) / reps);
  return median(times);
}
