import type { Activation } from '../src/shaders/activation.js';
import { describe, expect, it } from 'vitest';
import { prepareMatmul } from '../src/layers/matmul-prepare.js';
import { MATMUL_VARIANTS, matmulSupports, type MatmulOptions, type MatmulShape, type MatmulVariant } from '../src/shaders/matmul.js';
import type { Gpu } from '../src/gpu/gpu.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';
import { hashTensor } from './helpers/hashdata.js';

/** Deterministic values in [-1, 1) from the fixtures' integer hash, so failures are reproducible. */
const values = (n: number, salt: number) => hashTensor({ shape: [n], salt, scale: 1, offset: 0 });

/** [rows, cols] row-major -> [cols, rows] row-major. */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
  return out;
}

/**
 * Runs `variant` on A and B as `stored` (C starting at c0 when accumulating, NaN otherwise) and
 * returns the worst difference from the float64 product of op(A) = a [M,K] and op(B) = b [K,N].
 */
async function worstError(g: Gpu, variant: MatmulVariant, shape: MatmulShape, o: MatmulOptions, a: Float32Array, b: Float32Array, stored: { A: Float32Array; B: Float32Array }, c0: Float32Array): Promise<number> {
  const { M, N, K } = shape;
  const start = o.accumulate ? c0 : new Float32Array(M * N).fill(NaN);
  const [A, B, C] = [g.tensor('A', [M * K], 'f32', stored.A), g.tensor('B', [K * N], 'f32', stored.B), g.tensor('C', [M * N], 'f32', start)];
  g.run((await prepareMatmul(g, variant, shape, o, A, B, C)).dispatches);
  const c = (await g.read(C)) as Float32Array;
  let worst = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let ref = o.accumulate ? c0[i * N + j]! : 0;
      for (let k = 0; k < K; k++) ref += a[i * K + k]! * b[k * N + j]!;
      worst = Math.max(worst, Math.abs(c[i * N + j]! - ref));
    }
  }
  return worst;
}

// Shapes that hit every edge: tiles of 8 and 64, partial vec4 column pairs, a single row.
const SHAPES = [
  { M: 64, N: 64, K: 64 },
  { M: 13, N: 20, K: 12 },
  { M: 1, N: 4, K: 4 },
  { M: 70, N: 132, K: 36 },
  { M: 5, N: 7, K: 3 },
  { M: 12, N: 9, K: 8 },
  { M: 20, N: 3, K: 16 },
  { M: 300, N: 200, K: 40 }, // several workgroups in both directions (vec4 workgroups cover 128 rows)
  { M: 20, N: 36, K: 1000 }, // long K: split-K in 3 slices of 336 (the last one short)
  { M: 70, N: 5, K: 2053 }, // split-K with a ragged last K step
  { M: 16, N: 12, K: 1028 }, // vec4 split-K (splitk_8x8): 4 slices of 272, the last one 212 deep
  { M: 16, N: 8, K: 2 }, // K below 4 with vec4-sized M and N (dcgan64's 1-output conv: dx = W^T dy with K = 1)
];
// Degenerate shapes, for the variants written for them and those they compete with.
const DEGENERATE: Array<MatmulShape & { variants: readonly MatmulVariant[] }> = [
  { M: 36, N: 100, K: 1, variants: ['naive', 'scalar_4x4', 'outer_4x4'] }, // D's Linear(6272, 1) dx: several workgroups, the last ones partial
  { M: 1, N: 520, K: 128, variants: ['naive', 'scalar_4x4', 'gemv_vec4'] }, // its dW: three workgroups of 256 columns, the last partial
  { M: 36, N: 1, K: 100, variants: ['naive', 'dot_wg64', 'rowdot_vec4'] }, // its forward (A B^T): three workgroups of 16 rows, the last partial
];

/**
 * The variants that are a bigger size of a generator checked in full at a smaller one: the
 * register blocks (block_8x8, block_16x8 and block_8x16, so TM < TN and TM > TN), their dot form
 * (blockdot_8x8) and the shared-memory tiles (tiled_4x4) run every layout, epilogue and NCHW
 * operand; these differ from them only in unroll counts (the same loops generate them: no branch
 * depends on TM or TN), so they run A B at every shape, which checks each compiler on the long
 * unrolls. Each layout costs a pipeline compile of 10-100 s for these on a CPU adapter.
 */
const UNROLLED_ONLY = new Set<MatmulVariant>(['block_16x16', 'block_32x16', 'block_16x32', 'block_32x32', 'blockdot_16x16', 'blockdot_32x16', 'tiled_8x8']);

describe.each(TEST_BACKENDS)('matmul variants on %s', (backend) => {
  const gpu = useGpu(backend);

  const LAYOUTS: MatmulOptions[] = [{}, { transA: true }, { transB: true }, { transA: true, transB: true }, { accumulate: true }];
  for (const variant of MATMUL_VARIANTS) {
    for (const o of UNROLLED_ONLY.has(variant) ? [{}] : LAYOUTS) {
    const shapes = [...SHAPES, ...DEGENERATE.filter((s) => s.variants.includes(variant)).map(({ M, N, K }) => ({ M, N, K }))];
    for (const shape of shapes.filter((s) => matmulSupports(variant, s, o, backend !== 'gpu'))) {
      const tag = `${o.transA ? 'A^T' : 'A'}${o.transB ? 'B^T' : 'B'}${o.accumulate ? ' accumulate' : ''}`;
      it(`${variant} ${tag} ${shape.M}x${shape.N}x${shape.K} equals a float64 CPU product`, async () => {
        const { M, N, K } = shape;
        const a = values(M * K, 1);
        const b = values(K * N, 2);
        // a and b hold op(A) [M,K] and op(B) [K,N]; the GPU gets them stored transposed when asked.
        const stored = { A: o.transA ? transpose(a, M, K) : a, B: o.transB ? transpose(b, K, N) : b };
        const worst = await worstError(gpu(), variant, shape, o, a, b, stored, values(M * N, 3));
        // |a|,|b| <= 1: float32 accumulation error is below K * 2^-24 * K; 1e-5 * K bounds it.
        expect(worst).toBeLessThanOrEqual(1e-5 * K);
      });
    }
    }
  }

  // Epilogues: bias per row (a conv's channel) with the NCHW store, bias per column (Linear),
  // each with and without an activation after the bias.
  const EPILOGUES: Array<[MatmulShape, MatmulOptions]> = [
    [{ M: 13, N: 20, K: 12 }, { bias: 'row', nchwHW: 5, activation: { op: 'leaky_relu', slope: 0.2 } }],
    [{ M: 64, N: 20, K: 100 }, { bias: 'col', transB: true, activation: { op: 'sigmoid', slope: 0.01 } }],
    [{ M: 13, N: 20, K: 12 }, { bias: 'row', nchwHW: 5 }],
    [{ M: 70, N: 132, K: 36 }, { bias: 'row', nchwHW: 33 }],
    [{ M: 12, N: 196, K: 64 }, { nchwHW: 49, transA: true }],
    [{ M: 64, N: 20, K: 100 }, { bias: 'col', transB: true }],
    [{ M: 5, N: 7, K: 3 }, { bias: 'col', accumulate: true }],
    [{ M: 12, N: 20, K: 1 }, { bias: 'row', nchwHW: 5, activation: { op: 'leaky_relu', slope: 0.2 } }],
    [{ M: 1, N: 36, K: 8 }, { bias: 'col', transA: true, activation: { op: 'sigmoid', slope: 0.01 } }],
  ];
  for (const variant of MATMUL_VARIANTS.filter((v) => !UNROLLED_ONLY.has(v))) {
    for (const [shape, o] of EPILOGUES.filter(([s, o]) => matmulSupports(variant, s, o, backend !== 'gpu'))) {
      it(`${variant} epilogue ${JSON.stringify(o)} ${shape.M}x${shape.N}x${shape.K} adds the bias, applies the activation and stores the layout asked`, async () => {
        const { M, N, K } = shape;
        const a = values(M * K, 4);
        const b = values(K * N, 5);
        const bias = values(o.bias === 'row' ? M : N, 6);
        const g = gpu();
        const A = g.tensor('A', [M, K], 'f32', o.transA ? transpose(a, M, K) : a);
        const B = g.tensor('B', [K, N], 'f32', o.transB ? transpose(b, K, N) : b);
        const c0 = o.accumulate ? values(M * N, 7) : new Float32Array(M * N).fill(NaN);
        const C = g.tensor('C', [M * N], 'f32', c0);
        const biasT = o.bias ? g.tensor('bias', [bias.length], 'f32', bias) : undefined;
        g.run((await prepareMatmul(g, variant, shape, o, A, B, C, biasT)).dispatches);
        const c = (await g.read(C)) as Float32Array;
        const HW = o.nchwHW ?? 0;
        let worst = 0;
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            const at = HW ? (Math.floor(j / HW) * M + i) * HW + (j % HW) : i * N + j;
            let ref = o.accumulate ? c0[at]! : 0;
            for (let k = 0; k < K; k++) ref += a[i * K + k]! * b[k * N + j]!;
            if (o.bias) ref += bias[o.bias === 'row' ? i : j]!;
            if (o.activation) ref = ACT[o.activation.op](ref, o.activation.slope);
            worst = Math.max(worst, Math.abs(c[at]! - ref));
          }
        }
        // Both activations here have slope <= 1, so they do not enlarge the GEMM's error.
        expect(worst).toBeLessThanOrEqual(1e-5 * (K + 1));
      });
    }
  }
});

/** [rows, N HW] (channels by pixels) -> the NCHW tensor [N, rows, HW] holding the same values. */
function toNchw(x: Float32Array, rows: number, cols: number, HW: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[(Math.floor(c / HW) * rows + r) * HW + (c % HW)] = x[r * cols + c]!;
  return out;
}

describe.each(TEST_BACKENDS)('matmul NCHW operands on %s', (backend) => {
  const gpu = useGpu(backend);
  // An explicit convolution's dy (or ConvTranspose2d's input) read in place: A as [Cout, N HW]
  // (the weight gradient, with B^T) and B as [Cin, N HW] (the col GEMM, with A^T). HW 12 and 4
  // for the vec4 kernels (several samples per vec4 row, a vec4 per sample); HW 3 for the scalar
  // ones; a split-K shape (K = 1028 = 257 samples of 4).
  const CASES: Array<[MatmulShape, MatmulOptions]> = [
    [{ M: 13, N: 20, K: 36 }, { aNchwHW: 12, transB: true }],
    [{ M: 16, N: 12, K: 1028 }, { aNchwHW: 4, transB: true, accumulate: true }],
    [{ M: 5, N: 7, K: 9 }, { aNchwHW: 3, transB: true }],
    [{ M: 20, N: 48, K: 12 }, { bNchwHW: 12, transA: true }],
    [{ M: 70, N: 132, K: 8 }, { bNchwHW: 4, transA: true }],
    [{ M: 5, N: 9, K: 7 }, { bNchwHW: 3, transA: true }],
    [{ M: 12, N: 24, K: 16 }, { bNchwHW: 4 }],
  ];
  for (const variant of MATMUL_VARIANTS.filter((v) => !UNROLLED_ONLY.has(v))) {
    for (const [shape, o] of CASES.filter(([s, o]) => matmulSupports(variant, s, o, backend !== 'gpu'))) {
      it(`${variant} ${JSON.stringify(o)} ${shape.M}x${shape.N}x${shape.K} reads the NCHW tensor as the operand`, async () => {
        const { M, N, K } = shape;
        const a = values(M * K, 8);
        const b = values(K * N, 9);
        const stored = {
          A: o.transA ? transpose(a, M, K) : o.aNchwHW ? toNchw(a, M, K, o.aNchwHW) : a,
          B: o.transB ? transpose(b, K, N) : o.bNchwHW ? toNchw(b, K, N, o.bNchwHW) : b,
        };
        const worst = await worstError(gpu(), variant, shape, o, a, b, stored, values(M * N, 10));
        // As above: |a|,|b| <= 1, float32 accumulation error below 1e-5 K.
        expect(worst).toBeLessThanOrEqual(1e-5 * (K + 1));
      });
    }
  }

  it('refuses an NCHW operand whose samples do not tile its dimension, or a transposed one', async () => {
    const g = gpu();
    const [A, B, C] = [g.tensor('A', [13 * 10]), g.tensor('B', [10 * 20]), g.tensor('C', [13 * 20])];
    await expect(prepareMatmul(g, 'naive', { M: 13, N: 20, K: 10 }, { aNchwHW: 4 }, A, B, C)).rejects.toThrow('A read as NCHW needs K = samples x HW, found K 10 for HW 4');
    await expect(prepareMatmul(g, 'naive', { M: 13, N: 20, K: 10 }, { bNchwHW: 3 }, A, B, C)).rejects.toThrow('found N 20 for HW 3');
    await expect(prepareMatmul(g, 'naive', { M: 13, N: 20, K: 10 }, { bNchwHW: 4, transB: true }, A, B, C)).rejects.toThrow('not with transB');
  });
});

/** The activations in float64, for the epilogue references. */
const ACT: Record<Activation, (v: number, slope: number) => number> = {
  leaky_relu: (v, slope) => (v > 0 ? v : slope * v),
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  relu: (v) => Math.max(v, 0),
  tanh: Math.tanh,
};

describe('matmul layouts', () => {
  it('keeps the register-blocked variants off a K that is not a multiple of 4, in every layout (they step K four at a time)', () => {
    for (const variant of MATMUL_VARIANTS.filter((v) => v === 'vec4_8x8' || v.startsWith('block_'))) {
      for (const o of [{}, { transA: true }, { transB: true }, { transA: true, transB: true }]) {
        expect(matmulSupports(variant, { M: 16, N: 8, K: 4 }, o), `${variant} ${JSON.stringify(o)} K 4`).toBe(true);
        for (const K of [1, 2, 6]) expect(matmulSupports(variant, { M: 16, N: 8, K }, o), `${variant} ${JSON.stringify(o)} K ${K}`).toBe(false);
      }
    }
  });
});
