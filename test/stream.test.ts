/**
 * A data set streamed to the GPU in shards (src/data/dataset.ts): the same batches in the same
 * order as the whole set on the GPU, so training is bit-identical, with several steps per
 * submit, across epochs and shard boundaries, for labels too, and through a checkpoint and
 * resume in the middle of a shard.
 */
import { describe, expect, it } from 'vitest';
import { GanTrainer, type TrainConfig } from '../src/train/trainer.js';
import { loadRunState, runStateFiles } from '../src/checkpoints/run-state.js';
import { loadImageSet } from '../src/data/files.js';
import type { ImageSet } from '../src/data/idx.js';
import { TEST_CONFIG } from './helpers/config.js';
import { useGpu } from './helpers/gpu.js';

const mnist = loadImageSet('mnist', 'train');
// 42 images: 11 batches of 4 per epoch, the last one short (2 images).
const set: ImageSet = { ...mnist, count: 42, pixels: mnist.pixels.subarray(0, 42 * 784), labels: mnist.labels.subarray(0, 42) };
const B = 4;
// Shards of 3 batches (12 images of 784 bytes) and a 6-image last shard: 4 shards per epoch.
const SHARD = 3 * B * 784 + 100;

async function params(t: GanTrainer): Promise<Buffer[]> {
  const g = t.gpu;
  return Promise.all([t.G, t.D].flatMap((m) => [m.params.all('param'), m.params.all('adam_m')]).map(async (v) => Buffer.from(((await g.read(v)) as Float32Array).buffer)));
}

describe('a streamed data set', () => {
  const gpu = useGpu('gles');

  it.each([
    ['unconditional', {}],
    ['conditional', { conditional: 'projection' as const }],
  ])('trains bit-identically to the whole set on the GPU (%s), in groups of steps across shards and epochs', async (_, extra: Partial<TrainConfig>) => {
    const config = { ...TEST_CONFIG, ...extra, batchSize: B };
    const whole = await GanTrainer.create(gpu(), set, config);
    const streamed = await GanTrainer.create(gpu(), set, { ...config, shardBytes: SHARD });
    expect(whole.dataset!.streamed).toBeNull();
    expect(streamed.dataset!.streamed!.images).toBe(12);
    expect(streamed.dataset!.shardsPerEpoch).toBe(4);
    // 25 steps: past the end of epoch 2, in groups of 4 that must break at shard starts.
    for (let i = 0; i < 25; i++) await whole.steps(1);
    let groups = 0;
    while (streamed.globalStep < 25) {
      const plans = await streamed.steps(Math.min(4, 25 - streamed.globalStep));
      groups++;
      expect(plans.length).toBeGreaterThan(0);
    }
    expect(groups).toBeGreaterThan(25 / 4); // shard and epoch boundaries cut some groups short
    expect([streamed.epoch, streamed.batchIndex]).toEqual([whole.epoch, whole.batchIndex]);
    const [a, b] = [await params(whole), await params(streamed)];
    a.forEach((x, i) => expect(x.equals(b[i]!), `tensor group ${i}`).toBe(true));
  });

  it('resumes mid-shard exactly from a checkpoint', async () => {
    const config = { ...TEST_CONFIG, batchSize: B, shardBytes: SHARD };
    const straight = await GanTrainer.create(gpu(), set, config);
    for (let i = 0; i < 17; i++) await straight.steps(1);
    const first = await GanTrainer.create(gpu(), set, config);
    for (let i = 0; i < 7; i++) await first.steps(1); // batch 7 of epoch 0: inside shard 2
    const files = new Map((await runStateFiles(first)).map(([name, bytes]) => [name, { file: name, bytes }]));
    const resumed = await GanTrainer.create(gpu(), set, config);
    loadRunState(files, resumed, 'checkpoint');
    while (resumed.globalStep < 17) await resumed.steps(3);
    const [a, b] = [await params(straight), await params(resumed)];
    a.forEach((x, i) => expect(x.equals(b[i]!), `tensor group ${i}`).toBe(true));
  });

  it('refuses a shard smaller than one batch, naming both sizes', async () => {
    await expect(GanTrainer.create(gpu(), set, { ...TEST_CONFIG, batchSize: B, shardBytes: 1000 })).rejects.toThrow('one batch of 4 images is 3136 bytes, more than a shard of 1000 bytes');
  });
});
