/** The roofline picture: roofs where the ceilings put them, each kernel's dot where its intensity and rate put it. */
import { describe, expect, it } from 'vitest';
import { rooflineChart } from '../src/image/roofline.js';
import type { Ceilings, KernelProfile } from '../src/gpu/profiler.js';

const ceilings: Ceilings = { gemmGflops: 20, gemm: 'block_32x16', copyGBs: 2, cached: true };
const row = (kernel: string, gflops: number | null, gbs: number | null, share: number, bound: 'compute' | 'memory'): KernelProfile => ({ kernel, calls: 1, ms: 1, meanUs: 1000, gflops, gbs, share, bound });

describe('rooflineChart', () => {
  const rows = [row('matmul.block_32x16', 10, 0.1, 0.6, 'compute'), row('bn_stats', 0.2, 1, 0.3, 'memory'), row('copy', null, 1.5, 0.1, 'memory')];
  const { width, height, rgb } = rooflineChart(rows, ceilings);
  const at = (x: number, y: number) => [...rgb.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)];
  // The axes (roofline.ts): decades round the points and the ridge (10 FLOP/byte): intensity 0.1 .. 100, rate 0.01 .. 100.
  const px = (ai: number) => Math.round(70 + ((Math.log10(ai) + 1) / 3) * (width - 20 - 70));
  const py = (g: number) => Math.round(height - 40 - ((Math.log10(g) + 2) / 4) * (height - 40 - 30));

  it('draws both roofs: bandwidth x intensity below the ridge, the GEMM rate above it', () => {
    expect(at(px(1), py(2))).toEqual([200, 40, 40]);
    expect(at(px(50), py(20))).toEqual([200, 40, 40]);
  });

  it('puts each kernel with FLOPs at its intensity and rate, coloured by its bound, and leaves out the one without', () => {
    expect(at(px(100), py(10))).toEqual([44, 160, 44]); // matmul: 10 GFLOP/s at 100 FLOP/byte, compute-bound
    expect(at(px(0.2), py(0.2))).toEqual([31, 119, 180]); // bn_stats: 0.2 GFLOP/s at 0.2 FLOP/byte, memory-bound
    expect(rgb.filter((_, i) => i % 3 === 0 && rgb[i] === 31 && rgb[i + 1] === 119).length).toBeGreaterThan(0);
  });
});
