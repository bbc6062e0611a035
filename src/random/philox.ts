/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
 * counter-based generator behind the GPU noise kernel. This CPU copy serves the per-epoch
 * shuffle and lets tests check the WGSL version word for word.
 */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32, exact in doubles via 16-bit halves. */
function mulhi(a: number, b: number): number {
  const aHi = a >>> 16;
  const aLo = a & 0xffff;
  const bHi = b >>> 16;
  const bLo = b & 0xffff;
  const lolo = aLo * bLo;
  const mid1 = aHi * bLo;
  const mid2 = aLo * bHi;
  const carry = ((lolo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  return (aHi * bHi + (mid1 >>> 16) + (mid2 >>> 16) + carry) >>> 0;
}

/** Four 32-bit words for counter (c0..c3) under key (k0, k1). */
export function philox4x32(
  counter: readonly [number, number, number, number],
  key: readonly [number, number],
): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map((x) => x >>> 0) as [number, number, number, number];
  let [k0, k1] = key.map((x) => x >>> 0) as [number, number];
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** Splits a JS integer seed (0 .. 2^53-1) into Philox's two key words. */
export function seedKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed: expected an integer 0..2^53-1, found ${seed}`);
  return [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
}

/**
 * Counter layout shared by every use, CPU and GPU: (index, stream low, stream high, domain).
 * The domain keeps uses apart under one seed; the stream is e.g. the step or the epoch.
 */
export const DOMAIN = { noise: 0x6e6f6973, shuffle: 0x73687566, init: 0x696e6974, augment: 0x61756720 } as const;

export function philoxCounter(index: number, stream: number, domain: number): [number, number, number, number] {
  return [index >>> 0, stream >>> 0, Math.floor(stream / 2 ** 32) >>> 0, domain >>> 0];
}

/** A sequential stream of u32s from Philox, for CPU-side choices such as the epoch shuffle. */
export class PhiloxStream {
  private block: number[] = [];
  private index = 0;
  constructor(
    private readonly key: readonly [number, number],
    private readonly stream: number,
    private readonly domain: number,
  ) {}

  nextU32(): number {
    if (this.block.length === 0) {
      this.block = philox4x32(philoxCounter(this.index, this.stream, this.domain), this.key);
      this.index++;
    }
    return this.block.shift()!;
  }

  /** Uniform integer in [0, bound), without modulo bias (rejection sampling). */
  below(bound: number): number {
    if (!(bound >= 1 && bound <= 2 ** 32)) throw new Error(`below: bound ${bound} out of range`);
    const limit = 2 ** 32 - (2 ** 32 % bound);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % bound;
    }
  }
}

/** Uniform float in [0, 1) with 24 random bits (exact in float32). */
export function unitFloat(rng: PhiloxStream): number {
  return (rng.nextU32() >>> 8) / 2 ** 24;
}

/** Standard normal by Box-Muller (one of the pair), for host-side initialisation. */
export function normalFloat(rng: PhiloxStream): number {
  const u1 = ((rng.nextU32() >>> 8) + 1) / 2 ** 24;
  const u2 = unitFloat(rng);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
