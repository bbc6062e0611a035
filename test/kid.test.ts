/**
 * KID (src/eval/kid.ts) against an independent route: the cubic kernel (x . y / d + 1)^3 is the
 * inner product of an explicit feature map phi (every monomial x^a of degree <= 3, weighted by
 * sqrt(3! / ((3 - |a|)! prod a_i!) / d^|a|)), so the unbiased MMD^2 is
 *   (|sum phi(x)|^2 - sum |phi(x)|^2) / (m (m - 1)) + (the same for y) - 2 (sum phi(x)) . (sum phi(y)) / (m n),
 * computed here with no kernel matrix at all. Both in float64: agreement to 1e-12 relative.
 */
import { describe, expect, it } from 'vitest';
import { kernelDistance, mmdUnbiased } from '../src/eval/kid.js';
import { seeded } from './helpers/seeded.js';

const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));

/** The exponent vectors of every monomial of degree <= 3 in `dim` variables. */
function exponents(dim: number): number[][] {
  const out: number[][] = [];
  const grow = (prefix: number[], left: number) => {
    if (prefix.length === dim) return void out.push(prefix);
    for (let e = 0; e <= left; e++) grow([...prefix, e], left - e);
  };
  grow([], 3);
  return out;
}

function phi(x: ArrayLike<number>, row: number, dim: number, alphas: number[][]): number[] {
  return alphas.map((a) => {
    const degree = a.reduce((s, e) => s + e, 0);
    const weight = factorial(3) / (factorial(3 - degree) * a.reduce((p, e) => p * factorial(e), 1)) / dim ** degree;
    return Math.sqrt(weight) * a.reduce((p, e, c) => p * x[row * dim + c]! ** e, 1);
  });
}

function mmdByFeatureMap(x: Float64Array, m: number, y: Float64Array, n: number, dim: number): number {
  const alphas = exponents(dim);
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
  const term = (t: Float64Array, rows: number) => {
    const feats = Array.from({ length: rows }, (_, i) => phi(t, i, dim, alphas));
    const sum = feats.reduce((acc, f) => acc.map((v, i) => v + f[i]!), new Array<number>(alphas.length).fill(0));
    return { sum, self: feats.reduce((s, f) => s + dot(f, f), 0) };
  };
  const tx = term(x, m);
  const ty = term(y, n);
  return (dot(tx.sum, tx.sum) - tx.self) / (m * (m - 1)) + (dot(ty.sum, ty.sum) - ty.self) / (n * (n - 1)) - (2 * dot(tx.sum, ty.sum)) / (m * n);
}

function gaussian(rows: number, dim: number, seed: number, shift = 0): Float64Array {
  const u = seeded(seed);
  // Box-Muller from the seeded uniform generator.
  return Float64Array.from({ length: rows * dim }, () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()) + shift);
}

describe('KID', () => {
  it('equals the unbiased MMD^2 computed through the kernel\'s explicit feature map (unequal set sizes)', () => {
    const [m, n, dim] = [17, 23, 3];
    const x = gaussian(m, dim, 1);
    const y = gaussian(n, dim, 2, 0.4);
    const want = mmdByFeatureMap(x, m, y, n, dim);
    expect(Math.abs(mmdUnbiased(x, 0, m, y, 0, n, dim) - want)).toBeLessThan(1e-12 * Math.abs(want) + 1e-15);
  });

  it('is the mean of disjoint blocks\' estimates, with their standard error', () => {
    const [dim, rows] = [4, 40];
    const x = gaussian(4 * rows, dim, 3);
    const y = gaussian(6 * rows, dim, 4, 0.5);
    const k = kernelDistance(x, 4 * rows, y, 6 * rows, dim, rows);
    expect(k.blocks).toBe(4);
    expect(k.blockRows).toEqual([40, 40]);
    const each = [0, 1, 2, 3].map((b) => mmdByFeatureMap(x.subarray(b * rows * dim, (b + 1) * rows * dim), rows, y.subarray(b * rows * dim, (b + 1) * rows * dim), rows, dim));
    const mean = each.reduce((a, v) => a + v, 0) / 4;
    const se = Math.sqrt(each.reduce((a, v) => a + (v - mean) ** 2, 0) / 3 / 4);
    expect(Math.abs(k.kid - mean)).toBeLessThan(1e-12 * Math.abs(mean));
    expect(Math.abs(k.standardError - se)).toBeLessThan(1e-9 * se);
  });

  it('is near zero for two samples of one distribution and well above it for a shifted one', () => {
    const dim = 8;
    const same = kernelDistance(gaussian(2000, dim, 5), 2000, gaussian(2000, dim, 6), 2000, dim, 500);
    const shifted = kernelDistance(gaussian(2000, dim, 5), 2000, gaussian(2000, dim, 7, 0.3), 2000, dim, 500);
    expect(Math.abs(same.kid)).toBeLessThan(4 * same.standardError);
    expect(shifted.kid).toBeGreaterThan(5 * shifted.standardError);
  });

  it('cuts a small set into two blocks, and refuses fewer than four rows', () => {
    expect(kernelDistance(gaussian(9, 2, 8), 9, gaussian(300, 2, 9), 300, 2).blockRows).toEqual([4, 150]);
    expect(() => kernelDistance(gaussian(3, 2, 8), 3, gaussian(30, 2, 9), 30, 2)).toThrow('KID needs at least 4 feature rows in each set (two blocks of two), found 3 and 30');
  });
});
