/** The per-epoch order of a data set: a seeded Fisher-Yates shuffle (same seed and epoch, same order). */
import { DOMAIN, PhiloxStream, seedKey } from '../random/philox.js';

export function epochOrder(count: number, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  const rng = new PhiloxStream(seedKey(seed), epoch, DOMAIN.shuffle);
  for (let i = count - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Batches per epoch with the last partial batch kept (PyTorch DataLoader, drop_last=False). */
export function batchesPerEpoch(count: number, batchSize: number): number {
  return Math.ceil(count / batchSize);
}

/** Images in batch `index` of an epoch: batchSize, except a shorter last one. */
export function batchSizeAt(count: number, batchSize: number, index: number): number {
  const n = batchesPerEpoch(count, batchSize);
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new Error(`batch index ${index} outside 0..${n - 1} (${count} images, batch ${batchSize})`);
  }
  return Math.min(batchSize, count - index * batchSize);
}
