/** The evaluator's data for a user's folder (src/eval/evaluator-data.ts): rotations as torch.rot90 turns, the held-out tenth, the task. */
import { describe, expect, it } from 'vitest';
import type { ImageSet } from '../src/data/idx.js';
import { evaluatorSpecFor, holdOut, rotations } from '../src/eval/evaluator-data.js';

const set = (count: number, channels: number, side: number, labels?: number[]): ImageSet => ({
  count,
  channels,
  height: side,
  width: side,
  pixels: Uint8Array.from({ length: count * channels * side * side }, (_, i) => i % 251),
  labels: Uint8Array.from(labels ?? Array.from({ length: count }, () => 0)),
  source: 'test',
});

describe('evaluator data', () => {
  it('turns each plane counter-clockwise as torch.rot90(x, k, dims=(1, 2)) does, labelled by k', () => {
    // torch.rot90([[0, 1], [2, 3]]) = [[1, 3], [0, 2]], twice [[3, 2], [1, 0]], thrice [[2, 0], [3, 1]]; the second plane likewise.
    const r = rotations(set(1, 2, 2));
    expect(Array.from(r.pixels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 1, 3, 0, 2, 5, 7, 4, 6, 3, 2, 1, 0, 7, 6, 5, 4, 2, 0, 3, 1, 6, 4, 7, 5]);
    expect(Array.from(r.labels)).toEqual([0, 1, 2, 3]);
    expect(r.count).toBe(4);
  });

  it('holds out every tenth image from the first, keeping labels with their images', () => {
    const s = set(25, 1, 2, Array.from({ length: 25 }, (_, i) => i % 3));
    const { train, test } = holdOut(s);
    expect(test.count).toBe(3);
    expect(train.count).toBe(22);
    expect(Array.from(test.labels)).toEqual([0, 1, 2]);
    expect(Array.from(test.pixels.subarray(4, 8))).toEqual(Array.from(s.pixels.subarray(40, 44)));
  });

  it('learns classes where there are two or more, else the four rotations', () => {
    expect(evaluatorSpecFor({ ...set(4, 3, 32, [0, 1, 0, 1]), classNames: ['a', 'b'] })).toEqual({ channels: 3, size: 32, classes: 2, task: 'classes' });
    expect(evaluatorSpecFor({ ...set(4, 3, 32), classNames: ['a'] })).toEqual({ channels: 3, size: 32, classes: 4, task: 'rotation' });
  });
});
