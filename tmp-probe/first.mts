import { requestGpu } from '../src/gpu/gpu.ts';
import { matmulKernel, matmulGrid, matmulParams, MatmulVariant } from '../src/shaders/matmul.ts';
const gpu = await requestGpu({ backend: process.argv[2] as any });
const shape = { M: 128, N: 1024, K: 3136 };
const A = gpu.tensor('A', [shape.M * shape.K]); const B = gpu.tensor('B', [shape.K * shape.N]); const C = gpu.tensor('C', [shape.M * shape.N]);
const params = gpu.uniform('p', matmulParams(shape));
for (const v of process.argv.slice(3) as MatmulVariant[]) {
  for (const o of [{ transB: true }, { transB: true, accumulate: true }]) {
    const d = await gpu.prepare(matmulKernel(v, o), [params, A, B, C], matmulGrid(v, shape));
    let t = performance.now(); gpu.run([d]); await gpu.sync(); const first = performance.now() - t;
    t = performance.now(); gpu.run([d]); await gpu.sync(); const second = performance.now() - t;
    console.log(v, JSON.stringify(o), 'first', first.toFixed(0), 'ms, second', second.toFixed(0), 'ms');
  }
}
gpu.destroy();
