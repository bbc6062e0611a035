import { describe, expect, it } from 'vitest';
import { GpuDataset } from '../src/data/dataset.js';
import { loadImageSet } from '../src/data/files.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';
import { firstBitDifference, loadFixture } from './helpers/fixtures.js';

const fixture = loadFixture('mnist');
const indices = fixture.values('indices') as Int32Array;
const expected = fixture.values('images') as Float32Array; // [96, 1, 28, 28], from torchvision
const PIXELS = 784;
const train = loadImageSet('mnist', 'train');

/**
 * An epoch order that puts fixture images 0..63 in the first batch and 64..95 in the short last
 * batch (60000 = 937 * 64 + 32), every other image in between.
 */
function orderAroundFixture(): Uint32Array {
  const chosen = new Set(indices);
  const middle = [...Array(train.count).keys()].filter((i) => !chosen.has(i));
  return Uint32Array.from([...indices.subarray(0, 64), ...middle, ...indices.subarray(64)]);
}

describe.each(TEST_BACKENDS)('gather + normalise on %s', (backend) => {
  const gpu = useGpu(backend);

  it('equals torchvision bit for bit, including the short last batch', async () => {
    const ds = await GpuDataset.create(gpu(), train, { batchSize: 64, seed: 0 });
    ds.setOrder(orderAroundFixture());
    expect(ds.batchesPerEpoch).toBe(938);

    expect(ds.setBatch(0)).toBe(64);
    gpu().run([ds.gather]);
    const first = (await gpu().read(ds.batch)) as Float32Array;
    expect(firstBitDifference(first, expected.subarray(0, 64 * PIXELS))).toBeNull();

    // Fill with a sentinel: the short batch must write its 32 images and leave the rest alone.
    gpu().write(ds.batch, new Float32Array(64 * PIXELS).fill(7));
    expect(ds.setBatch(937)).toBe(32);
    gpu().run([ds.gather]);
    const last = (await gpu().read(ds.batch)) as Float32Array;
    expect(firstBitDifference(last.subarray(0, 32 * PIXELS), expected.subarray(64 * PIXELS))).toBeNull();
    expect(last.subarray(32 * PIXELS).every((v) => v === 7)).toBe(true);
    ds.destroy();
  });

  it('follows the seeded shuffle: same seed, same batch; another seed, another batch', async () => {
    const read = async (seed: number, epoch: number) => {
      const ds = await GpuDataset.create(gpu(), train, { batchSize: 8, seed });
      ds.setEpoch(epoch);
      ds.setBatch(5);
      gpu().run([ds.gather]);
      const x = (await gpu().read(ds.batch)) as Float32Array;
      ds.destroy();
      return x;
    };
    const a = await read(1, 0);
    expect(firstBitDifference(await read(1, 0), a)).toBeNull();
    expect(firstBitDifference(await read(2, 0), a)).not.toBeNull();
    expect(firstBitDifference(await read(1, 1), a)).not.toBeNull();
  });

  it('rejects orders that are not image indices', async () => {
    const ds = await GpuDataset.create(gpu(), train, { batchSize: 64, seed: 0 });
    expect(() => ds.setOrder(new Uint32Array(5))).toThrow(/order: expected 60000 indices, found 5/);
    const bad = new Uint32Array(train.count);
    bad[3] = 60000;
    expect(() => ds.setOrder(bad)).toThrow(/order\[3\] = 60000 is not an image index/);
    expect(() => ds.setBatch(938)).toThrow(/batch index 938 outside/);
    ds.destroy();
    await expect(GpuDataset.create(gpu(), train, { batchSize: 0, seed: 0 })).rejects.toThrow(/batch size: expected a positive integer, found 0/);
  });
});
