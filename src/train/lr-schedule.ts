/**
 * The learning rates of each step: G's and D's configured rates times the schedule's factor
 * (`--lr-decay-from`: pix2pix's linear decay per step). Adam's per-step writes and the metrics'
 * lr_g / lr_d both read it, so what is logged is what ran.
 */
import type { TrainConfig } from './settings.js';

/**
 * Linear decay: 1 for the steps before `start`, then falling by 1/(end - start) per step, so the
 * last step before `end` runs at 1/(end - start) of the rate and any step from `end` on at 0.
 */
export function lrDecayScale(done: number, start: number, end: number): number {
  if (done < start) return 1;
  return end > start ? Math.max(0, (end - done) / (end - start)) : 0;
}

/** G's and D's configured rates: the one place "D uses G's rate" (lrD null) is resolved. */
export function baseRates(c: { lr: number; lrD: number | null }): { g: number; d: number } {
  return { g: c.lr, d: c.lrD ?? c.lr };
}

export class LrSchedule {
  readonly base: { g: number; d: number };

  /** `batchesPerEpoch` is read per call: a run may limit its epochs after the schedule is made. */
  constructor(
    private readonly config: Pick<TrainConfig, 'lr' | 'lrD' | 'lrDecayFrom' | 'epochs'>,
    private readonly batchesPerEpoch: () => number,
  ) {
    this.base = baseRates(config);
  }

  /** The factor of the step after `done` steps. */
  scale(done: number): number {
    const from = this.config.lrDecayFrom;
    if (from === null) return 1;
    const n = this.batchesPerEpoch();
    return lrDecayScale(done, from * n, this.config.epochs * n);
  }

  /** G's and D's rates for the step after `done` steps. */
  rates(done: number): { g: number; d: number } {
    const s = this.scale(done);
    return { g: this.base.g * s, d: this.base.d * s };
  }
}
