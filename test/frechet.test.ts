/**
 * The Fréchet distance's linear algebra, in float64 on the host: Jacobi eigen-decomposition,
 * PSD square roots, feature statistics, and FD itself against closed forms and against an
 * independent route (Denman-Beavers iteration for the square root of the non-symmetric S1 S2, as
 * scipy.linalg.sqrtm-based FID code computes it).
 */
import { describe, expect, it } from 'vitest';
import { seeded } from './helpers/seeded.js';
import { featureStats, frechetDistance, sqrtPsd, symmetricEigen, type FeatureStats } from '../src/eval/frechet.js';

/** A seeded uniform generator in [-1, 1): test data only. */
function rng(seed: number): () => number {
  const u = seeded(seed);
  return () => u() * 2 - 1;
}

const mul = (a: Float64Array, b: Float64Array, n: number) => {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) out[i * n + j]! += a[i * n + k]! * b[k * n + j]!;
  return out;
};
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
/** A random SPD matrix B B^T / n + eps I. */
function spd(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const b = Float64Array.from({ length: n * n }, r);
  const bt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) bt[j * n + i] = b[i * n + j]!;
  const s = mul(b, bt, n).map((v) => v / n);
  for (let i = 0; i < n; i++) s[i * n + i]! += 1e-3;
  return s;
}
function inverse(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    for (let k = 0; k < n; k++) {
      [m[c * n + k], m[p * n + k]] = [m[p * n + k]!, m[c * n + k]!];
      [inv[c * n + k], inv[p * n + k]] = [inv[p * n + k]!, inv[c * n + k]!];
    }
    const d = m[c * n + c]!;
    for (let k = 0; k < n; k++) {
      m[c * n + k]! /= d;
      inv[c * n + k]! /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * n + c]!;
      for (let k = 0; k < n; k++) {
        m[r * n + k]! -= f * m[c * n + k]!;
        inv[r * n + k]! -= f * inv[c * n + k]!;
      }
    }
  }
  return inv;
}
/** Denman-Beavers: Y -> sqrt(A) for a matrix with positive real eigenvalues (here S1 S2). */
function sqrtmDenmanBeavers(a: Float64Array, n: number): Float64Array {
  let y = Float64Array.from(a);
  let z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) z[i * n + i] = 1;
  for (let k = 0; k < 60; k++) {
    const yi = inverse(y, n);
    const zi = inverse(z, n);
    y = y.map((v, i) => (v + zi[i]!) / 2);
    z = z.map((v, i) => (v + yi[i]!) / 2);
  }
  return y;
}

describe('Fréchet distance (float64, host)', () => {
  it('eigen-decomposes a symmetric matrix: A = V diag(values) V^T with V orthonormal', () => {
    const n = 24;
    const a = spd(n, 1).map((v, i) => v - (i % (n + 1) === 0 ? 0.5 : 0)); // indefinite too
    const { values, vectors } = symmetricEigen(a, n);
    const d = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[i * n + j] = vectors[i * n + j]! * values[j]!;
    const vt = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) vt[j * n + i] = vectors[i * n + j]!;
    expect(maxAbsDiff(mul(d, vt, n), a)).toBeLessThan(1e-12);
    const eye = Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
    expect(maxAbsDiff(mul(vt, vectors, n), eye)).toBeLessThan(1e-12);
  });

  it('takes PSD square roots: sqrt(S)^2 = S', () => {
    const n = 32;
    const s = spd(n, 2);
    const r = sqrtPsd(s, n);
    expect(maxAbsDiff(mul(r, r, n), s)).toBeLessThan(1e-12);
  });

  it('computes mean and unbiased covariance like numpy.cov', () => {
    const x = [1, 2, 3, 5, 2, 0, 4, 4]; // 4 rows of 2
    const s = featureStats(x, 4, 2);
    expect([...s.mean]).toEqual([2.5, 2.75]);
    // cov(a, a) = var([1,3,2,4]) = 5/3; cov(b, b) = var([2,5,0,4]) = 14.75/3; cov(a, b) = 5.5/3
    expect(maxAbsDiff(s.cov, [5 / 3, 5.5 / 3, 5.5 / 3, 14.75 / 3])).toBeLessThan(1e-15);
  });

  it('is zero for identical statistics and the closed form for diagonal covariances', () => {
    const n = 16;
    const x: FeatureStats = { n: 100, dim: n, mean: Float64Array.from({ length: n }, rng(3)), cov: spd(n, 4) };
    expect(frechetDistance(x, x)).toBeLessThan(1e-9);
    const a = Float64Array.from({ length: n }, (_, i) => 0.5 + i);
    const b = Float64Array.from({ length: n }, (_, i) => 2 + 0.25 * i);
    const diag = (d: Float64Array) => Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? d[i / (n + 1)]! : 0));
    const mx = Float64Array.from({ length: n }, rng(5));
    const my = Float64Array.from({ length: n }, rng(6));
    let expected = 0;
    for (let i = 0; i < n; i++) expected += (mx[i]! - my[i]!) ** 2 + (Math.sqrt(a[i]!) - Math.sqrt(b[i]!)) ** 2;
    const fd = frechetDistance({ n: 10, dim: n, mean: mx, cov: diag(a) }, { n: 10, dim: n, mean: my, cov: diag(b) });
    expect(Math.abs(fd - expected) / expected).toBeLessThan(1e-12);
  });

  it('agrees with the sqrtm route (Denman-Beavers on S1 S2) for random covariances, and is symmetric', () => {
    const n = 20;
    const x: FeatureStats = { n: 100, dim: n, mean: Float64Array.from({ length: n }, rng(7)), cov: spd(n, 8) };
    const y: FeatureStats = { n: 100, dim: n, mean: Float64Array.from({ length: n }, rng(9)), cov: spd(n, 10) };
    const root = sqrtmDenmanBeavers(mul(x.cov, y.cov, n), n);
    let expected = 0;
    for (let i = 0; i < n; i++) expected += (x.mean[i]! - y.mean[i]!) ** 2 + x.cov[i * n + i]! + y.cov[i * n + i]! - 2 * root[i * n + i]!;
    const fd = frechetDistance(x, y);
    expect(Math.abs(fd - expected) / expected).toBeLessThan(1e-9);
    expect(Math.abs(frechetDistance(y, x) - fd) / fd).toBeLessThan(1e-9);
  });
});
