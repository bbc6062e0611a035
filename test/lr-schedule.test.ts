/**
 * The learning-rate schedule of `--lr-decay-from` (src/train/lr-schedule.ts): constant before its start,
 * then linear to 0 at the end of the run, per step. The CLI's resume rules and the schedule's
 * effect on training are in train-cli.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { lrDecayScale } from '../src/train/lr-schedule.js';

describe('lrDecayScale', () => {
  it('is 1 before the start, falls by 1/(end - start) per step, and is 0 from the end on', () => {
    const scales = [0, 1, 2, 3, 4, 5, 6, 7].map((done) => lrDecayScale(done, 2, 6));
    expect(scales).toEqual([1, 1, 1, 0.75, 0.5, 0.25, 0, 0]);
  });

  it('stops learning at once when the decay starts at the end', () => {
    expect(lrDecayScale(3, 4, 4)).toBe(1);
    expect(lrDecayScale(4, 4, 4)).toBe(0);
  });
});
