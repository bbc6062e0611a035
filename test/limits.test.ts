/**
 * Size limits known before allocation: the per-image size of the largest buffer a training step
 * and a sampling pass allocate is computed from the layer shapes alone; here it is checked
 * against the buffers a real plan allocates, and the refusal and the batched sampling are
 * exercised.
 */
import { describe, expect, it } from 'vitest';
import { samplingRoute } from '../src/layers/conv-route.js';
import { checkBatch, dPassesFor, largestBatch, samplingNeed, trainingNeed } from '../src/model/limits.js';
import { Sampler } from '../src/model/sample.js';
import { GanTrainer } from '../src/train/trainer.js';
import { TEST_CONFIG } from './helpers/config.js';
import { useGpu } from './helpers/gpu.js';

describe('batch limits (gles)', () => {
  const gpu = useGpu('gles');

  // Buffers are listed in allocation order: the ones after `before` are the plan's.
  const largestNew = (before: number, sizes: Array<{ label: string; size: number }>) => Math.max(...sizes.slice(before).map((b) => b.size));
  const snapshot = () => gpu().bufferSizes().length;

  for (const conv of ['auto', 'explicit'] as const) {
    for (const dPasses of ['merged', 'separate'] as const) {
      it(`predicts the largest buffer of a training step exactly (batch 12, conv ${conv}, D passes ${dPasses})`, async () => {
        const trainer = await GanTrainer.create(gpu(), null, { ...TEST_CONFIG, batchSize: 12, conv, dPasses });
        const before = snapshot();
        await trainer.plan(12);
        const need = trainingNeed({}, conv, dPasses);
        // With `auto` on a CPU adapter at a batch that is a multiple of 4 the weight gradients
        // read batch-innermost copies (src/layers/conv-route.ts, batchInnerForms), each the size of the
        // tensor it copies, so the largest buffer is the predicted one. (At other batches they go
        // through an im2col buffer where one fits a binding, weightViaCol, outside the batch limit.)
        expect(largestNew(before, gpu().bufferSizes())).toBe(12 * need.bytesPerImage);
        expect(need.layer).toMatch(/ConvTranspose2d|Conv2d/);
        // Implicit GEMMs need no col buffer: the largest buffer is an activation (64 x 14 x 14
        // floats per image), a quarter of the explicit path's im2col/col buffer (1024 x 7 x 7);
        // D's merged pass holds two images (real and fake) per batch image.
        const perImage = conv === 'auto' ? 4 * 64 * 14 * 14 : 4 * 1024 * 49;
        expect(need.bytesPerImage).toBe(dPasses === 'merged' ? 2 * perImage : perImage);
      });
    }
  }

  it('predicts the largest buffer of a sampling pass exactly (batch 12)', async () => {
    const trainer = await GanTrainer.create(gpu(), null, { ...TEST_CONFIG, batchSize: 12 });
    const before = snapshot();
    await Sampler.create(gpu(), trainer.G, 12);
    // A batch this small samples on the compile-light route (explicit convolutions): its need is that route's.
    expect(largestNew(before, gpu().bufferSizes())).toBe(12 * samplingNeed(trainer.G, samplingRoute(gpu(), 12).conv).bytesPerImage);
  });

  it('refuses a batch over the binding limit before allocating, naming the limit and the largest batch that fits', async () => {
    // D's passes merge only where the merged pass fits (auto), so the limit is the separate passes'.
    const need = trainingNeed({}, 'auto', 'separate');
    const max = largestBatch(gpu(), need);
    const limit = gpu().limits.maxStorageBufferBindingSize;
    expect(max * need.bytesPerImage).toBeLessThanOrEqual(limit);
    expect((max + 1) * need.bytesPerImage).toBeGreaterThan(limit);
    expect(() => checkBatch(gpu(), max, need, 'batch size')).not.toThrow();
    const before = gpu().bufferSizes().length;
    await expect(GanTrainer.create(gpu(), null, { ...TEST_CONFIG, batchSize: max + 1 })).rejects.toThrow(
      new RegExp(`batch size ${max + 1} needs a \\d+-byte buffer \\(.*\\), more than this adapter's maxStorageBufferBindingSize of ${limit} bytes; the largest that fits on this adapter is ${max}`),
    );
    expect(gpu().bufferSizes().length).toBe(before);
    const merged = largestBatch(gpu(), trainingNeed({}, 'auto', 'merged'));
    expect(merged).toBe(Math.floor(max / 2));
    expect(dPassesFor(gpu(), merged, {}, 'auto', 'auto')).toBe('merged');
    expect(dPassesFor(gpu(), merged + 1, {}, 'auto', 'auto')).toBe('separate');
  });

  it('samples in batches: image i is the same whatever the batch (eval-mode G is per image)', async () => {
    const trainer = await GanTrainer.create(gpu(), null, { ...TEST_CONFIG, batchSize: 8, seed: 5 });
    const whole = await (await Sampler.create(gpu(), trainer.G, 10)).fromSeed(3);
    const batched = await Sampler.create(gpu(), trainer.G, 10, 4);
    expect(batched.batch).toBe(4);
    const pieces = await batched.fromSeed(3);
    // Different batch sizes may pick different GEMM variants (summation order): float32 rounding only.
    let worst = 0;
    for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs(whole[i]! - pieces[i]!));
    expect(worst).toBeLessThan(1e-5);
    const first = await (await Sampler.create(gpu(), trainer.G, 4)).fromSeed(3);
    expect(Array.from(first)).toEqual(Array.from(whole.subarray(0, first.length)));
  });
});
