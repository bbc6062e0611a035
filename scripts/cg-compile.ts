import { requestGpu } from '../src/gpu/gpu.js';
import { convGemmGrid, convGemmKernel, convGemmPackedSize, convGemmSizes, type ConvGemmMode } from '../src/shaders/conv-gemm.js';
const gpu = await requestGpu({ backend: (process.env.BK ?? 'swiftshader') as 'gles' });
console.log('gpu ok', gpu.describe());
const g = { N: 4, C: 64, H: 14, W: 14, Ho: 7, Wo: 7, k: 4, s: 2, p: 1 };
for (const b of (process.env.BLOCKS ?? '4x8,8x8,16x8,16x16').split(',')) {
  const [tm, tn] = b.split('x').map(Number) as [number, number];
  const mode = (process.env.MODE ?? 'forward') as ConvGemmMode;
  const spec = { mode, g, G: 128, tm, tn };
  const sz = convGemmSizes(spec);
  const A = gpu.tensor('A', [convGemmPackedSize(spec) || sz.A]), B = gpu.tensor('B', [sz.B]), out = gpu.tensor('o', [sz.out]);
  const t0 = performance.now();
  const d = await gpu.prepare(convGemmKernel(spec), [A, B, out], convGemmGrid(spec));
  const t1 = performance.now(); console.log(`prepared ${b} in ${((t1 - t0) / 1000).toFixed(1)} s`);
  gpu.run([d]); await gpu.sync('x');
  console.log(`${mode} ${b}: prepare ${((t1 - t0) / 1000).toFixed(1)} s, first run ${((performance.now() - t1) / 1000).toFixed(1)} s`);
}
gpu.destroy();
