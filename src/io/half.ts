/**
 * Half-precision weights: IEEE binary16 (safetensors `F16`, torch.float16) and bfloat16 (`BF16`),
 * to and from float32 as PyTorch converts them: `.half()` and `.bfloat16()` round to nearest,
 * ties to even (f16 overflows to infinity past 65504, keeps subnormals down to 2^-24); widening is
 * exact. Checked bit for bit against PyTorch in test/half.test.ts.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> binary16 bits, round to nearest even. */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf, or a quiet NaN keeping its top payload bits
  const e = exp - 127 + 15; // the binary16 exponent
  if (e >= 0x1f) return sign | 0x7c00; // too large even before rounding
  if (e <= 0) {
    // A binary16 subnormal (or zero): the value in units of 2^-24, rounded to even.
    if (e < -10) return sign; // under half of the smallest subnormal
    const m = mant | 0x800000;
    const shift = 14 - e;
    return sign | roundShift(m, shift);
  }
  // Normal: drop 13 bits with rounding; a carry out of the mantissa bumps the exponent (to inf at the top).
  return sign | ((e << 10) + roundShift(mant, 13));
}

/** m >> shift, rounded to nearest, ties to even (shift >= 1). */
function roundShift(m: number, shift: number): number {
  const kept = m >>> shift;
  const rest = m - kept * 2 ** shift;
  const half = 2 ** (shift - 1);
  return kept + (rest > half || (rest === half && (kept & 1) === 1) ? 1 : 0);
}

/** binary16 bits -> float32 value (exact). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 -> bfloat16 bits (the top 16 bits of the float32), round to nearest even; NaN stays a quiet NaN. */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits -> float32 value (exact). */
export function bf16BitsToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

export type HalfDType = 'F16' | 'BF16';

/** Little-endian half-precision bytes -> float32 values. */
export function widenHalf(bytes: Uint8Array, dtype: HalfDType): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 2);
  const widen = dtype === 'F16' ? f16BitsToF32 : bf16BitsToF32;
  for (let i = 0; i < out.length; i++) out[i] = widen(view.getUint16(2 * i, true));
  return out;
}

/** float32 values -> little-endian half-precision bytes. */
export function narrowToHalf(values: Float32Array, dtype: HalfDType): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  const narrow = dtype === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < values.length; i++) view.setUint16(2 * i, narrow(values[i]!), true);
  return out;
}
