import { requestGpu } from '../src/gpu/gpu.ts';
import { matmulKernel } from '../src/shaders/matmul.ts';
const gpu = await requestGpu({ backend: process.argv[2] as any });
for (const v of ['block_16x16', 'block_32x16', 'block_32x32'] as const) {
  for (const o of [{}, { transA: true }, { transB: true }, { transB: true, accumulate: true }]) {
    const t = performance.now();
    await gpu.pipeline(matmulKernel(v, o));
    console.log(v, JSON.stringify(o), (performance.now() - t).toFixed(0), 'ms');
  }
}
gpu.destroy();
