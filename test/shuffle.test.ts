import { describe, expect, it } from 'vitest';
import { batchSizeAt, batchesPerEpoch, epochOrder } from '../src/data/shuffle.js';
import { normalizationTable } from '../src/data/normalize.js';
import { PhiloxStream, philox4x32, seedKey } from '../src/random/philox.js';
import { firstBitDifference, loadFixture } from './helpers/fixtures.js';
import { PHILOX_KAT } from './helpers/philox-kat.js';

describe('Philox4x32-10 on the CPU', () => {
  it.each(PHILOX_KAT)('matches the Random123 known answer for key $key', ({ counter, key, out }) => {
    expect(philox4x32(counter, key)).toEqual(out);
  });

  it('splits seeds into key words and rejects bad seeds', () => {
    expect(seedKey(0)).toEqual([0, 0]);
    expect(seedKey(2 ** 32 + 7)).toEqual([7, 1]);
    expect(() => seedKey(-1)).toThrow(/seed/);
    expect(() => seedKey(1.5)).toThrow(/seed/);
  });

  it('draws bounded integers without bias over a small range', () => {
    const rng = new PhiloxStream(seedKey(1), 0, 0);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[rng.below(6)]++;
    // Each count ~ Binomial(60000, 1/6): sd 91; 5 sd = 456.
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(456);
  });
});

describe('epoch shuffle', () => {
  it('is a permutation, fixed by seed and epoch', () => {
    const a = epochOrder(60000, 7, 3);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 60000 }, (_, i) => i));
    expect(epochOrder(60000, 7, 3)).toEqual(a);
    expect(epochOrder(60000, 7, 4)).not.toEqual(a);
    expect(epochOrder(60000, 8, 3)).not.toEqual(a);
    // A shuffle, not the identity or a rotation.
    const fixed = a.reduce((n, v, i) => n + (v === i ? 1 : 0), 0);
    expect(fixed).toBeLessThan(10);
  });

  it('gives 938 batches per epoch at batch 64, the last of 32', () => {
    expect(batchesPerEpoch(60000, 64)).toBe(938);
    expect(batchSizeAt(60000, 64, 0)).toBe(64);
    expect(batchSizeAt(60000, 64, 936)).toBe(64);
    expect(batchSizeAt(60000, 64, 937)).toBe(32);
    expect(() => batchSizeAt(60000, 64, 938)).toThrow(/batch index 938 outside 0\.\.937/);
    expect(batchesPerEpoch(60000, 60000)).toBe(1);
  });
});

describe('normalisation table', () => {
  it("equals torchvision's ToTensor + Normalize([0.5], [0.5]) for all 256 bytes, bit for bit", () => {
    const expected = loadFixture('mnist').values('table') as Float32Array;
    expect(firstBitDifference(normalizationTable(), expected)).toBeNull();
  });
});
