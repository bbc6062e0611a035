/**
 * Fréchet distance between two Gaussians fitted to feature sets (the FID formula, on our
 * classifier's features):
 *   FD = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)),
 * with tr((S1 S2)^(1/2)) = tr((S1^(1/2) S2 S1^(1/2))^(1/2)), a symmetric positive semi-definite
 * matrix whose square root is taken through its eigenvalues. Everything in float64 on the host
 * (64 x 64 matrices: microseconds); eigen-decompositions by cyclic Jacobi rotations, which are
 * accurate to float64 rounding for symmetric matrices.
 */

export interface FeatureStats {
  n: number;
  dim: number;
  mean: Float64Array;
  /** dim x dim, row-major, unbiased (n - 1), as numpy.cov. */
  cov: Float64Array;
}

/** Mean and covariance of `n` feature rows of `dim` values. */
export function featureStats(features: ArrayLike<number>, n: number, dim: number): FeatureStats {
  if (n < 2) throw new Error(`feature statistics need at least 2 samples, found ${n}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += features[i * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= n;
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) row[j] = features[i * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ra = row[a]!;
      for (let b = a; b < dim; b++) cov[a * dim + b]! += ra * row[b]!;
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      cov[a * dim + b]! /= n - 1;
      cov[b * dim + a] = cov[a * dim + b]!;
    }
  }
  return { n, dim, mean, cov };
}

/** Eigenvalues and eigenvectors (columns of `vectors`) of a symmetric n x n matrix. */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += a[i]! * a[i]!;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! * a[p * n + q]!;
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // Columns p and q, then rows p and q: A <- J^T A J.
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v };
}

/** The square root of a symmetric positive semi-definite matrix (negative rounding noise clamped to 0). */
export function sqrtPsd(matrix: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const r = Math.sqrt(Math.max(0, values[k]!));
    if (r === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k]! * r;
      for (let j = 0; j < n; j++) out[i * n + j]! += vik * vectors[j * n + k]!;
    }
  }
  return out;
}

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      for (let j = 0; j < n; j++) out[i * n + j]! += aik * b[k * n + j]!;
    }
  }
  return out;
}

export function frechetDistance(x: FeatureStats, y: FeatureStats): number {
  const n = x.dim;
  if (y.dim !== n) throw new Error(`Fréchet distance: feature sizes differ (${x.dim} vs ${y.dim})`);
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += (x.mean[i]! - y.mean[i]!) ** 2;
  let trace = 0;
  for (let i = 0; i < n; i++) trace += x.cov[i * n + i]! + y.cov[i * n + i]!;
  const s1h = sqrtPsd(x.cov, n);
  const m = matmul(matmul(s1h, y.cov, n), s1h, n);
  // Symmetrise: rounding leaves M a hair from symmetric, and Jacobi assumes symmetry.
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = m[j * n + i] = (m[i * n + j]! + m[j * n + i]!) / 2;
  const { values } = symmetricEigen(m, n);
  let traceSqrt = 0;
  for (const v of values) traceSqrt += Math.sqrt(Math.max(0, v));
  return Math.max(0, d2 + trace - 2 * traceSqrt);
}

/** What generated samples are scored against: the test set's feature statistics and the real-data floor. */
export interface Reference {
  test: FeatureStats;
  /** FD of `floorImages` real training images against the test set. */
  floor: number;
  floorImages: number;
  /** The test images' feature rows [test.n, dim] (what KID compares with), where the evaluator file keeps them. */
  testFeatures?: Float32Array;
  /** The test images' classes, beside testFeatures in an evaluator of a user's classes (per-class scores). */
  testLabels?: Uint8Array;
  /** KID of the same real training images against the test set, and its standard error. */
  kidFloor?: { kid: number; standardError: number };
}

/** The trace of a dim x dim covariance: the mean squared distance of a row from the mean (n / (n - 1) of it). */
export function covarianceTrace(cov: Float64Array, dim: number): number {
  let t = 0;
  for (let i = 0; i < dim; i++) t += cov[i * dim + i]!;
  return t;
}
