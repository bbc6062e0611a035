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
