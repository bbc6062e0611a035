/**
 * Closeness for float32 results against float64 PyTorch references. An element passes when
 * |got - ref| <= rtol * (|ref| + floor * max|ref|): relative error, with a floor tied to the
 * tensor's own scale so that elements near zero (sums that cancel) are judged against the
 * magnitude the computation worked at, not against 0; plus an optional absolute allowance.
 */
export interface Tolerance {
  rtol: number;
  /** Fraction of max|ref| added to |ref| in the denominator. */
  floor: number;
  /** An absolute allowance on top (default 0). */
  atol?: number;
}

export function compareClose(got: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance): string | null {
  if (got.length !== ref.length) return `length ${got.length}, expected ${ref.length}`;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]!));
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i]! - ref[i]!);
    const allowed = (tol.atol ?? 0) + tol.rtol * (Math.abs(ref[i]!) + tol.floor * scale);
    const ratio = allowed > 0 ? err / allowed : err > 0 || Number.isNaN(got[i]!) ? Infinity : 0;
    if (!(ratio <= worstRatio) || Number.isNaN(ratio)) {
      worstRatio = Number.isNaN(ratio) ? Infinity : ratio;
      worst = i;
    }
  }
  if (worstRatio <= 1) return null;
  return `element ${worst}: got ${got[worst]}, expected ${ref[worst]} (error ${Math.abs(got[worst]! - ref[worst]!).toExponential(2)}, ${worstRatio.toFixed(1)}x the tolerance rtol ${tol.rtol}, floor ${tol.floor} x max|ref| ${scale.toExponential(2)}, atol ${tol.atol ?? 0})`;
}

/**
 * Like compareClose, but lets up to `maxOutliers` elements miss the tolerance as long as they
 * stay within `loose` x max|ref| of the reference: for quantities behind a piecewise-linear
 * kink (ReLU, LeakyReLU), where a pre-activation within rounding of 0 legitimately switches a
 * derivative between implementations.
 */
export function compareMostlyClose(
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  tol: Tolerance,
  loose: number,
  maxOutliers: number,
): string | null {
  let scale = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]!));
  let outliers = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i]! - ref[i]!);
    const allowed = (tol.atol ?? 0) + tol.rtol * (Math.abs(ref[i]!) + tol.floor * scale);
    if (err <= allowed) continue;
    if (!(err <= loose * scale)) return `element ${i}: got ${got[i]}, expected ${ref[i]}, beyond even ${loose} x max|ref| ${scale.toExponential(2)}`;
    outliers++;
  }
  return outliers <= maxOutliers ? null : `${outliers} elements outside the tolerance, at most ${maxOutliers} allowed`;
}
