/**
 * The matmul autotuner: it times every candidate that supports a shape, keeps the fastest,
 * persists the result per adapter and shape, reuses it without timing, and `off` means the fixed
 * table. Small shapes on the GLES adapter; the winners themselves are machine-dependent, so only
 * the bookkeeping is asserted (each variant's numbers are checked in matmul.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { MatmulTuner, type TuneRecord, type TuneStore } from '../src/layers/matmul-tuner.js';
import { bestMatmulVariant } from '../src/shaders/matmul.js';
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
    expect(lines[0]).toMatch(/^tune {5}timing matmul variants per GEMM shape .*cached in test memory/);
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

  it('with tuning off, uses the fixed table and times nothing', async () => {
    const store = memoryStore();
    const tuner = new MatmulTuner(gpu(), 'off', store);
    expect(await tuner.choose(shape, {})).toBe(bestMatmulVariant(shape, {}, true));
    expect(store.saves).toBe(0);
  });
});
