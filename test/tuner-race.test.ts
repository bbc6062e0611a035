/**
 * The tuner race's later passes (retimeClose) under a scripted clock: the candidates within 1.3x
 * of the best are timed twice more in turn, each keeping its fastest; the far ones never again.
 */
import { describe, expect, it } from 'vitest';
import { retimeClose } from '../src/layers/matmul-tuner.js';

describe('tuner race', () => {
  it("re-times the close candidates in turn and keeps each one's fastest; the far ones run once", async () => {
    // First pass: a 10 ms, b 12 (within 1.3x), c 50 (far). Pass 2: a 11, b 8 (the best now).
    // Pass 3: a (10 <= 1.3 x 8) 9.5, b 9 (keeps its 8).
    const ms: Record<string, number> = { a: 10, b: 12, c: 50 };
    const script = [11, 8, 9.5, 9];
    const asked: Array<[string, number]> = [];
    await retimeClose(ms, async (name, last) => {
      asked.push([name, last]);
      return script.shift()!;
    });
    expect(asked).toEqual([['a', 10], ['b', 12], ['a', 10], ['b', 8]]);
    expect(ms).toEqual({ a: 9.5, b: 8, c: 50 });
  });

  it('drops a candidate as soon as the best moves out of its reach', async () => {
    // Pass 2: a runs 9 (the best now), so b's 12.5 > 1.3 x 9 = 11.7 is not timed again; pass 3: a 14, keeps 9.
    const ms: Record<string, number> = { a: 10, b: 12.5 };
    const script = [9, 14];
    const asked: string[] = [];
    await retimeClose(ms, async (name) => {
      asked.push(name);
      return script.shift()!;
    });
    expect(asked).toEqual(['a', 'a']);
    expect(ms).toEqual({ a: 9, b: 12.5 });
  });

  it('times nothing with a single candidate', async () => {
    const ms = { a: 10 };
    await retimeClose(ms, async () => {
      throw new Error('timed');
    });
    expect(ms).toEqual({ a: 10 });
  });
});
