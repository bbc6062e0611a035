/**
 * torchvision's Resize(size) + CenterCrop(size) on a PIL image, pixel for pixel: the shorter side
 * becomes `size` (the longer int(size * long / short)) with PIL's BILINEAR filter, which
 * antialiases when shrinking (its support widens with the scale), then the centre square is
 * kept. PIL's arithmetic is reproduced exactly: coefficients in 22-bit fixed point, a horizontal
 * pass rounded to bytes, then a vertical one (Pillow's Resample.c). Only the kept square is
 * computed. No I/O: the page and Node share it.
 */

/** Pillow's fixed-point precision for 8-bit images. */
const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** One output pixel's taps along an axis: the first input index and integer weights. */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  /** `ksize` weights per output pixel. */
  weights: Float64Array;
  ksize: number;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for outputs [from, from + n) of an axis scaled in -> out. */
function taps(inSize: number, outSize: number, from: number, n: number): Taps {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filterscale; // the bilinear filter's support is 1
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(n);
  const count = new Int32Array(n);
  const weights = new Float64Array(n * ksize);
  const raw = new Float64Array(ksize);
  for (let i = 0; i < n; i++) {
    const center = (from + i + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) / filterscale);
      raw[x] = t < 1 ? 1 - t : 0;
      total += raw[x]!;
    }
    for (let x = 0; x < xmax; x++) {
      const k = total !== 0 ? raw[x]! / total : raw[x]!;
      weights[i * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    first[i] = xmin;
    count[i] = xmax;
  }
  return { first, count, weights, ksize };
}

/** Pillow's clip8: the fixed-point sum (rounding bias included) to a byte. */
function clip8(sum: number): number {
  const v = Math.floor(sum / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** The resized size torchvision's Resize(size) gives (shorter side = size), as [width, height]. */
export function resizedSize(width: number, height: number, size: number): [number, number] {
  return width <= height ? [size, Math.trunc((size * height) / width)] : [Math.trunc((size * width) / height), size];
}

/**
 * Resize + CenterCrop of one image stored as `channels` interleaved byte planes (HWC, as
 * decoders give them), returning the size x size square as CHW planes (as the data set keeps
 * images). `channels` 1 or 3.
 */
export function resizeCenterCrop(src: Uint8Array, width: number, height: number, channels: number, size: number): Uint8Array {
  const [rw, rh] = resizedSize(width, height, size);
  // CenterCrop: top = int(round((h - size) / 2)), Python's round (half to even).
  const top = roundHalfEven((rh - size) / 2);
  const left = roundHalfEven((rw - size) / 2);
  const needH = rw !== width;
  const needV = rh !== height;
  const out = new Uint8Array(channels * size * size);
  const v = needV ? taps(height, rh, top, size) : null;
  // The source rows the vertical pass reads (all kept rows when there is no vertical pass).
  const rowFirst = v ? v.first[0]! : top;
  const rowLast = v ? v.first[size - 1]! + v.count[size - 1]! : top + size;
  const rows = rowLast - rowFirst;
  // Horizontal pass into a rows x size x channels byte image (HWC).
  const mid = new Uint8Array(rows * size * channels);
  if (needH) {
    const h = taps(width, rw, left, size);
    for (let y = 0; y < rows; y++) {
      const line = (rowFirst + y) * width * channels;
      for (let x = 0; x < size; x++) {
        const f = h.first[x]!;
        const k = x * h.ksize;
        for (let c = 0; c < channels; c++) {
          let sum = HALF;
          for (let j = 0; j < h.count[x]!; j++) sum += src[line + (f + j) * channels + c]! * h.weights[k + j]!;
          mid[(y * size + x) * channels + c] = clip8(sum);
        }
      }
    }
  } else {
    for (let y = 0; y < rows; y++) mid.set(src.subarray(((rowFirst + y) * width + left) * channels, ((rowFirst + y) * width + left + size) * channels), y * size * channels);
  }
  const plane = size * size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < channels; c++) {
        let value: number;
        if (v) {
          let sum = HALF;
          const f = v.first[y]! - rowFirst;
          for (let j = 0; j < v.count[y]!; j++) sum += mid[((f + j) * size + x) * channels + c]! * v.weights[y * v.ksize + j]!;
          value = clip8(sum);
        } else {
          value = mid[(y * size + x) * channels + c]!;
        }
        out[c * plane + y * size + x] = value;
      }
    }
  }
  return out;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Decoded RGBA bytes (any decoder's output) as `channels` interleaved planes: alpha composited
 * over black (rgb * a / 255, rounded), then, for one channel, Pillow's convert('L') luma
 * (R 299 + G 587 + B 114) / 1000 in its fixed point.
 */
export function fromRgba(rgba: Uint8Array, pixels: number, channels: number): Uint8Array {
  const out = new Uint8Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    const a = rgba[p * 4 + 3]!;
    let r = rgba[p * 4]!;
    let g = rgba[p * 4 + 1]!;
    let b = rgba[p * 4 + 2]!;
    if (a !== 255) {
      r = Math.round((r * a) / 255);
      g = Math.round((g * a) / 255);
      b = Math.round((b * a) / 255);
    }
    if (channels === 1) out[p] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
    else {
      out[p * 3] = r;
      out[p * 3 + 1] = g;
      out[p * 3 + 2] = b;
    }
  }
  return out;
}

/** Whether decoded RGBA bytes hold any colour (a pixel whose R, G and B differ). */
export function hasColour(rgba: Uint8Array, pixels: number): boolean {
  for (let p = 0; p < pixels; p++) {
    const o = p * 4;
    if (rgba[o] !== rgba[o + 1] || rgba[o + 1] !== rgba[o + 2]) return true;
  }
  return false;
}
