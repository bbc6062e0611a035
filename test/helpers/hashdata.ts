/**
 * The TypeScript twin of scripts/fixtures/hashdata.py: deterministic float32 test data from an
 * integer hash, bit-identical to Python's, so fixtures store only results.
 */
export interface HashSpec {
  shape: number[];
  salt: number;
  scale: number;
  offset: number;
}

function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

export function hashTensor({ shape, salt, scale, offset }: HashSpec): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const base = Math.imul(salt, 0x9e3779b9);
  const f = Math.fround;
  for (let i = 0; i < n; i++) {
    const u = (lowbias32((base + i) >>> 0) >>> 8) / 2 ** 23 - 1;
    out[i] = f(f(u * scale) + offset);
  }
  return out;
}
