/**
 * An image set resident on the GPU: uploaded once as bytes, shuffled per epoch, and each batch
 * gathered and normalised into `batch` ([batchSize, 1, H, W] float32) by one dispatch.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { gatherNormalizeProgram } from '../shaders/mnist.js';
import type { ImageSet } from './idx.js';
import { normalizationTable } from './normalize.js';
import { batchSizeAt, batchesPerEpoch, epochOrder } from './shuffle.js';

const GATHER = gatherNormalizeProgram();

export class GpuDataset {
  private constructor(
    private readonly gpu: Gpu,
    readonly set: ImageSet,
    readonly batchSize: number,
    readonly seed: number,
    readonly batch: Tensor,
    readonly gather: Dispatch,
    private readonly order: GPUBuffer,
    private readonly params: GPUBuffer,
    /** Everything this data set allocated, for destroy(). */
    private readonly owned: GPUBuffer[],
  ) {}

  static async create(gpu: Gpu, set: ImageSet, opts: { batchSize: number; seed: number }): Promise<GpuDataset> {
    const { batchSize, seed } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`batch size: expected a positive integer, found ${batchSize}`);
    }
    const pixels = set.height * set.width;
    const maxBinding = gpu.limits.maxStorageBufferBindingSize;
    if (set.pixels.byteLength > maxBinding) {
      throw new Error(`${set.source}: ${set.pixels.byteLength} bytes of images exceed this adapter's maxStorageBufferBindingSize ${maxBinding}`);
    }
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    // Bytes, 4 per u32 word (the tail word zero-padded).
    const padded = new Uint8Array(Math.ceil(set.pixels.byteLength / 4) * 4);
    padded.set(set.pixels);
    const images = gpu.tensor(`images of ${set.source}`, [padded.byteLength / 4], 'u32', new Uint32Array(padded.buffer)).buffer;
    const order = gpu.createBuffer('epoch order', set.count * 4, usage);
    const table = gpu.tensor('normalization table', [256], 'f32', normalizationTable());
    const params = GATHER.uniform(gpu, { start: 0, count: batchSize, pixels }, 'gather params');
    const batch = gpu.tensor('real batch', [batchSize, 1, set.height, set.width]);
    const gather = await GATHER.prepare(gpu, { batch: batchSize, pixels }, { images, order, table, out: batch }, { uniform: params });
    const owned = [images, order, table.buffer, params, batch.buffer];
    const ds = new GpuDataset(gpu, set, batchSize, seed, batch, gather, order, params, owned);
    ds.setEpoch(0);
    return ds;
  }

  get batchesPerEpoch(): number {
    return batchesPerEpoch(this.set.count, this.batchSize);
  }

  /** Shuffles for `epoch` (seeded) and uploads the order. */
  setEpoch(epoch: number): void {
    this.setOrder(epochOrder(this.set.count, this.seed, epoch));
  }

  /** Uses an explicit order of image indices (tests, or a fixed evaluation order). */
  setOrder(order: Uint32Array): void {
    if (order.length !== this.set.count) {
      throw new Error(`order: expected ${this.set.count} indices, found ${order.length}`);
    }
    const bad = order.findIndex((i) => i >= this.set.count);
    if (bad >= 0) throw new Error(`order[${bad}] = ${order[bad]} is not an image index (< ${this.set.count})`);
    this.gpu.writeState(this.order, 0, order);
  }

  /** The size of batch `index` of an epoch (the last one may be short). */
  sizeOf(index: number): number {
    return batchSizeAt(this.set.count, this.batchSize, index);
  }

  /** Selects which batch the next `gather` dispatch writes; returns its size. */
  setBatch(index: number): number {
    const size = this.sizeOf(index);
    const pixels = this.set.height * this.set.width;
    this.gpu.writeState(this.params, 0, new Uint8Array(GATHER.params({ start: index * this.batchSize, count: size, pixels })));
    return size;
  }

  destroy(): void {
    for (const b of this.owned) this.gpu.destroyBuffer(b);
  }
}
