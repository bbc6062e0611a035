import { describe, expect, it } from 'vitest';
import { NormalNoise } from '../src/random/noise.js';
import { DOMAIN, philox4x32, philoxCounter, seedKey } from '../src/random/philox.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';

describe.each(TEST_BACKENDS)('GPU random numbers on %s', (backend) => {
  const gpu = useGpu(backend);

  async function draw(seed: number, stream: number, n: number, kind: 'normal' | 'bits' = 'normal') {
    const out = gpu().tensor('noise', [n], kind === 'normal' ? 'f32' : 'u32');
    const noise = await NormalNoise.create(gpu(), out, seed, kind);
    noise.setStream(stream);
    gpu().run([noise.dispatch]);
    const values = await gpu().read(out);
    gpu().destroyBuffer(out.buffer);
    return values;
  }

  it('produces exactly the Philox4x32-10 words of the CPU implementation', async () => {
    const seed = 2 ** 40 + 12345; // exercises both key words
    const stream = 2 ** 33 + 9; // and both stream words
    const bits = (await draw(seed, stream, 4 * 1000, 'bits')) as Uint32Array;
    for (const t of [0, 1, 2, 517, 999]) {
      const cpu = philox4x32(philoxCounter(t, stream, DOMAIN.noise), seedKey(seed));
      expect([...bits.subarray(4 * t, 4 * t + 4)]).toEqual(cpu);
    }
  });

  it('is deterministic for a seed and stream; seeds and streams differ', async () => {
    const a = await draw(42, 3, 6400);
    expect(await draw(42, 3, 6400)).toEqual(a);
    expect(await draw(43, 3, 6400)).not.toEqual(a);
    expect(await draw(42, 4, 6400)).not.toEqual(a);
    // A short batch's noise is a prefix of the full batch's.
    expect(await draw(42, 3, 3201)).toEqual(a.subarray(0, 3201));
  });

  it('has mean 0 and variance 1 over 1e6 samples', async () => {
    const n = 1_000_000;
    const z = (await draw(7, 0, n)) as Float32Array;
    let s1 = 0, s2 = 0, s4 = 0, within1 = 0, nonFinite = 0;
    for (const v of z) {
      if (!Number.isFinite(v)) nonFinite++;
      s1 += v;
      s2 += v * v;
      s4 += v ** 4;
      if (Math.abs(v) < 1) within1++;
    }
    expect(nonFinite).toBe(0);
    const mean = s1 / n;
    const variance = s2 / n - mean * mean;
    // Bounds are 5 standard errors for N(0, 1): se(mean) = 1/sqrt(n) = 1e-3;
    // se(variance) = sqrt(2/n) = 1.41e-3; se(4th moment) = sqrt(96/n) = 9.8e-3;
    // se(P(|z|<1) = 0.6827) = sqrt(p(1-p)/n) = 4.65e-4.
    expect(Math.abs(mean)).toBeLessThan(5e-3);
    expect(Math.abs(variance - 1)).toBeLessThan(7.1e-3);
    expect(Math.abs(s4 / n - 3)).toBeLessThan(4.9e-2);
    expect(Math.abs(within1 / n - 0.682689)).toBeLessThan(2.4e-3);
  });
});
