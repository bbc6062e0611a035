/**
 * The autotuner (matmul variants and conv GEMM programs): it times every candidate that supports a shape, keeps the fastest,
 * persists the result per adapter and shape, reuses it without timing, and `off` means the fixed
 * table. Small shapes on the GLES adapter; the winners themselves are machine-dependent, so only
 * the bookkeeping is asserted (each variant's numbers are checked in matmul.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { MatmulTuner } from '../src/layers/matmul-tuner.js';
import { sourcesTag, type TuneRecord, type TuneStore } from '../src/gpu/tune-store.js';
import { MATMUL_PROGRAMS, bestMatmulVariant } from '../src/shaders/matmul.js';
import { convGemmFixedProgram, convGemmProgram, type ConvGemmOp } from '../src/shaders/conv-gemm.js';
import { useGpu } from './helpers/gpu.js';

function memoryStore(): TuneStore & { saves: number; data: Record<string, TuneRecord> } {
  const store = {
    where: 'test memory',
    saves: 0,
    data: {} as Record<string, TuneRecord>,
    load: () => structuredClone(store.data),
    save: (r: Record<string, TuneRecord>) => {
      store.saves++;
      store.data = structuredClone(r);
    },
  };
  return store;
}

describe('matmul tuner on gles', () => {
  const gpu = useGpu('gles');
  const shape = { M: 64, N: 96, K: 128 };

  it('times every candidate, keeps the fastest, and reuses the cached winner without timing', async () => {
    const store = memoryStore();
    const lines: string[] = [];
    const tuner = new MatmulTuner(gpu(), 'quick', store, (l) => lines.push(l));
    const candidates = tuner.candidates(shape, { transB: true });
    expect(candidates).toContain('naive');
    expect(candidates.length).toBeGreaterThan(3);
    const chosen = await tuner.choose(shape, { transB: true });
    const record = store.data[tuner.key(shape, { transB: true })]!;
    expect(Object.keys(record.timings).sort()).toEqual([...candidates].sort());
    const best = Object.entries(record.timings).sort((a, b) => b[1] - a[1])[0]![0];
    expect(chosen).toBe(best);
    expect(lines[0]).toMatch(/^tune {5}timing GEMM variants per shape .*cached in test memory/);
    expect(lines[1]).toMatch(new RegExp(`^tune {5}matmul 64x96x128 NT: ${chosen} [\\d.]+ GFLOP/s`));

    // A second run with the same store: no timing, no save, same answer.
    const again = new MatmulTuner(gpu(), 'quick', store, (l) => lines.push(l));
    const saves = store.saves;
    expect(await again.choose(shape, { transB: true })).toBe(chosen);
    expect(store.saves).toBe(saves);
    expect(lines.length).toBe(2);
    // Another layout of the same shape is another key.
    expect(again.key(shape, { transB: true })).not.toBe(again.key(shape, { transA: true }));
  });

  it("keys a record by its candidates' sources: a rewritten kernel is timed again", () => {
    const tuner = new MatmulTuner(gpu(), 'quick', memoryStore());
    const key = tuner.key(shape, {});
    const codes = tuner.candidates(shape, {}).map((v) => MATMUL_PROGRAMS[v].program({}).kernel.code);
    expect(key.endsWith(`|${sourcesTag(codes)}`)).toBe(true);
    const edited = [...codes];
    edited[1] = edited[1]!.replace('+', '-');
    expect(sourcesTag(edited)).not.toBe(sourcesTag(codes));
    expect(sourcesTag([...codes].reverse())).not.toBe(sourcesTag(codes));
    expect(sourcesTag(codes)).toMatch(/^[0-9a-f]{8}$/);
  });

  it('with tuning off, uses the fixed table and times nothing', async () => {
    const store = memoryStore();
    const tuner = new MatmulTuner(gpu(), 'off', store);
    expect(await tuner.choose(shape, {})).toBe(bestMatmulVariant(shape, {}, true));
    expect(await tuner.chooseConv(conv)).toBe(convGemmFixedProgram(conv, gpu()));
    expect(store.saves).toBe(0);
  });

  // A small conv (M = 8 output channels: the fixed choice is 4x8), so `full` races two small blocks.
  const conv: ConvGemmOp = { mode: 'forward', g: { N: 2, C: 4, H: 14, W: 14, Ho: 7, Wo: 7, k: 4, s: 2, p: 1 }, G: 8, bias: true };

  it('races the conv GEMM programs of an op (full; the fixed choice among them), keeps the fastest, reuses it', async () => {
    const store = memoryStore();
    const lines: string[] = [];
    const tuner = new MatmulTuner(gpu(), 'full', store, (l) => lines.push(l));
    const candidates = tuner.convCandidates(conv);
    expect(candidates).toEqual(['conv_4x8', 'conv_4x8_dot', 'conv_8x8', 'conv_8x8_dot']); // each block in both forms
    const chosen = await tuner.chooseConv(conv);
    const [key, record] = Object.entries(store.data)[0]!;
    expect(key).toContain('conv conv_gemm.forward.bias 2x4x14x14<-8x7x7/k4s2p1');
    expect(Object.keys(record.timings).sort()).toEqual([...candidates].sort());
    expect(chosen).toBe(Object.entries(record.timings).sort((a, b) => b[1] - a[1])[0]![0]);
    expect(lines[1]).toMatch(new RegExp(`^tune {5}conv_gemm.forward.bias .*: ${chosen} [\\d.]+ GFLOP/s \\(${candidates.length} candidates`));
    const again = new MatmulTuner(gpu(), 'full', store);
    expect(await again.chooseConv(conv)).toBe(chosen);
    expect(store.saves).toBe(1);
    // `quick` on a CPU adapter races nothing for convolutions (the fixed choice won every sweep).
    const d128: ConvGemmOp = { ...conv, G: 128 };
    expect(tuner.convCandidates(d128, 'quick')).toEqual(['conv_32x16']);
    expect(tuner.convCandidates(d128, 'full')).toEqual(['conv_32x16', ...['4x8', '8x8', '16x8', '16x16', '32x16', '32x32'].flatMap((b) => [`conv_${b}`, `conv_${b}_dot`]).filter((n) => n !== 'conv_32x16')]);
    // A name that is no program is refused by name.
    expect(() => convGemmProgram('conv_3x3')).toThrow('conv GEMM program: expected conv_TMxTN or conv_TMxTN_dot with TN a multiple of 4');
  });
});
