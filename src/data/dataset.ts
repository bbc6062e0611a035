/**
 * An image set resident on the GPU: uploaded once as bytes, shuffled per epoch, and each batch
 * gathered and normalised into `batch` ([batchSize, C, H, W] float32) by one dispatch; with
 * `classes`, its labels too (uploaded once, gathered by a second dispatch into `labels`).
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { gatherLabelsProgram, gatherNormalizeProgram } from '../shaders/mnist.js';
import type { ImageSet } from './idx.js';
import { normalizationTable } from './normalize.js';
import { batchSizeAt, batchesPerEpoch, epochOrder } from './shuffle.js';

const GATHER = gatherNormalizeProgram();
const LABELS = gatherLabelsProgram();

/** The batch's labels on the GPU (conditional training), gathered in the same order as its images. */
export interface GpuLabels {
  /** [batchSize] class indices as f32. */
  batch: Tensor;
  gather: Dispatch;
  params: GPUBuffer;
}

export class GpuDataset {
  private constructor(
    private readonly gpu: Gpu,
    readonly set: ImageSet,
    readonly batchSize: number,
    readonly seed: number,
    readonly batch: Tensor,
    readonly gather: Dispatch,
    /** The labels' batch and gather; null unless created with `classes`. */
    readonly labels: GpuLabels | null,
    private readonly order: GPUBuffer,
    private readonly params: GPUBuffer,
    /** Everything this data set allocated, for destroy(). */
    private readonly owned: GPUBuffer[],
  ) {}

  /** `classes`: also gather labels, each checked to be below it. */
  static async create(gpu: Gpu, set: ImageSet, opts: { batchSize: number; seed: number; classes?: number }): Promise<GpuDataset> {
    const { batchSize, seed } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`batch size: expected a positive integer, found ${batchSize}`);
    }
    const pixels = set.channels * set.height * set.width;
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
    const batch = gpu.tensor('real batch', [batchSize, set.channels, set.height, set.width]);
    const gather = await GATHER.prepare(gpu, { batch: batchSize, pixels }, { images, order, table, out: batch }, { uniform: params });
    const owned = [images, order, table.buffer, params, batch.buffer];
    let labels: GpuLabels | null = null;
    if (opts.classes !== undefined) {
      const bad = set.labels.findIndex((l) => l >= opts.classes!);
      if (bad >= 0) throw new Error(`${set.source}: label ${set.labels[bad]} of image ${bad} is not a class of this model (0..${opts.classes - 1})`);
      const all = gpu.tensor(`labels of ${set.source}`, [set.count], 'u32', Uint32Array.from(set.labels)).buffer;
      const labelParams = LABELS.uniform(gpu, { start: 0, count: batchSize }, 'label gather params');
      const labelBatch = gpu.tensor('real labels', [batchSize]);
      const labelGather = await LABELS.prepare(gpu, { batch: batchSize }, { labels: all, order, out: labelBatch }, { uniform: labelParams });
      labels = { batch: labelBatch, gather: labelGather, params: labelParams };
      owned.push(all, labelParams, labelBatch.buffer);
    }
    const ds = new GpuDataset(gpu, set, batchSize, seed, batch, gather, labels, order, params, owned);
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
    const pixels = this.set.channels * this.set.height * this.set.width;
    const start = index * this.batchSize;
    this.gpu.writeState(this.params, 0, new Uint8Array(GATHER.params({ start, count: size, pixels })));
    if (this.labels) this.gpu.writeState(this.labels.params, 0, new Uint8Array(LABELS.params({ start, count: size })));
    return size;
  }

  destroy(): void {
    for (const b of this.owned) this.gpu.destroyBuffer(b);
  }
}
