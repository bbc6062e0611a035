/**
 * Kernel Inception Distance (Binkowski et al. 2018) on our evaluator's features: the squared
 * maximum mean discrepancy between two feature sets under the cubic polynomial kernel
 *   k(x, y) = (x . y / d + 1)^3,
 * estimated without bias (the diagonal terms left out), so it is near zero, and can be slightly
 * negative, for two samples of one distribution, whatever their sizes. The sets are cut into
 * disjoint blocks (up to 1000 rows, torch-fidelity's subset size); each block pair gives an
 * independent unbiased estimate, and their mean is the KID, their spread its standard error.
 * Everything in float64 on the host.
 */

export interface Kid {
  /** Mean of the blocks' unbiased MMD^2 estimates. */
  kid: number;
  /** Standard error of that mean: the blocks' standard deviation over sqrt(blocks). */
  standardError: number;
  /** Block pairs, and rows per block of each set. */
  blocks: number;
  blockRows: [number, number];
}

/** Sum of k(a_i, b_j) over the block's rows; `same`: a and b are one block, its diagonal left out. */
function kernelSum(a: ArrayLike<number>, aFirst: number, aRows: number, b: ArrayLike<number>, bFirst: number, bRows: number, dim: number, same: boolean): number {
  let sum = 0;
  for (let i = 0; i < aRows; i++) {
    const ai = (aFirst + i) * dim;
    for (let j = same ? i + 1 : 0; j < bRows; j++) {
      const bj = (bFirst + j) * dim;
      let dot = 0;
      for (let c = 0; c < dim; c++) dot += a[ai + c]! * b[bj + c]!;
      const k = dot / dim + 1;
      sum += k * k * k;
    }
  }
  // The off-diagonal pairs were counted once each: k is symmetric.
  return same ? 2 * sum : sum;
}

/** The unbiased MMD^2 of one block of x (m rows from xFirst) against one of y (n rows from yFirst). */
export function mmdUnbiased(x: ArrayLike<number>, xFirst: number, m: number, y: ArrayLike<number>, yFirst: number, n: number, dim: number): number {
  const kxx = kernelSum(x, xFirst, m, x, xFirst, m, dim, true) / (m * (m - 1));
  const kyy = kernelSum(y, yFirst, n, y, yFirst, n, dim, true) / (n * (n - 1));
  const kxy = kernelSum(x, xFirst, m, y, yFirst, n, dim, false) / (m * n);
  return kxx + kyy - 2 * kxy;
}

/**
 * KID of `m` rows of x against `n` rows of y (`dim` features each, row-major): the smaller set cut
 * into blocks of up to `maxBlockRows` rows, and at least two blocks (a standard error needs two),
 * at most `maxBlocks`; the larger set cut into as many blocks, of up to `maxBlockRows` rows.
 */
export function kernelDistance(x: ArrayLike<number>, m: number, y: ArrayLike<number>, n: number, dim: number, maxBlockRows = 1000, maxBlocks = 100): Kid {
  if (Math.min(m, n) < 4) throw new Error(`KID needs at least 4 feature rows in each set (two blocks of two), found ${m} and ${n}`);
  if (x.length < m * dim || y.length < n * dim) throw new Error(`KID: expected ${m} x ${dim} and ${n} x ${dim} features, found ${x.length} and ${y.length} values`);
  const smaller = Math.min(m, n);
  const blocks = Math.min(maxBlocks, Math.floor(smaller / Math.min(maxBlockRows, Math.floor(smaller / 2))));
  const rows: [number, number] = [Math.min(maxBlockRows, Math.floor(m / blocks)), Math.min(maxBlockRows, Math.floor(n / blocks))];
  const estimates = Array.from({ length: blocks }, (_, b) => mmdUnbiased(x, b * rows[0], rows[0], y, b * rows[1], rows[1], dim));
  const kid = estimates.reduce((a, v) => a + v, 0) / blocks;
  const variance = estimates.reduce((a, v) => a + (v - kid) ** 2, 0) / (blocks - 1);
  return { kid, standardError: Math.sqrt(variance / blocks), blocks, blockRows: rows };
}
