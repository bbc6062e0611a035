/**
 * An image set on the GPU: uploaded once as bytes, shuffled per epoch, and each batch gathered
 * and normalised into `batch` ([batchSize, C, H, W] float32) by one dispatch; with `classes`,
 * its labels too (uploaded once, gathered by a second dispatch into `labels`).
 *
 * A set larger than one buffer binding (or than `shardBytes`) is streamed: the epoch's order is
 * cut into shards of whole batches, each shard's images packed on the host in that order and
 * uploaded into one of two GPU buffers, the next shard while the current one trains. A batch
 * then gathers the same images in the same order as from the whole set, so a streamed run is
 * bit-identical to an in-memory one, and resumes exactly. Host memory: the set at model size
 * plus two packed shards, or only the two shards when the set's pixels stay on disk
 * (ImageSet.onDisk: a decoded-cache entry, read image by image as each shard is packed).
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { gatherLabelsProgram, gatherNormalizeProgram } from '../shaders/mnist.js';
import type { ImageSet } from './idx.js';
import { normalizationTable } from './normalize.js';
import { batchSizeAt, batchesPerEpoch, epochOrder } from './shuffle.js';

/** Shards streamed in turn through two GPU buffers (GpuDataset's streamed mode). */
interface Streamed {
  /** Images per shard: a whole number of batches. */
  images: number;
  buffers: [GPUBuffer, GPUBuffer];
  gathers: [Dispatch, Dispatch];
  /** Which (epoch, shard) each buffer holds, as epoch * shardsPerEpoch + shard; -1: none. */
  holds: [number, number];
  /** The buffer the current batch gathers from. */
  current: 0 | 1;
}

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
    /** The labels' batch and gather; null unless created with `classes`. */
    readonly labels: GpuLabels | null,
    private readonly order: GPUBuffer,
    private readonly params: GPUBuffer,
    /** Everything this data set allocated, for destroy(). */
    private readonly owned: GPUBuffer[],
    private readonly wholeGather: Dispatch,
    /** The streamed mode's shards; null: the whole set is on the GPU. */
    readonly streamed: Streamed | null,
  ) {}

  /**
   * `classes`: also gather labels, each checked to be below it. `shardBytes`: stream in shards of
   * at most that many bytes even where the whole set would fit (default: only where it does not
   * fit one binding, in shards of the largest size that does).
   */
  static async create(gpu: Gpu, set: ImageSet, opts: { batchSize: number; seed: number; classes?: number; shardBytes?: number | null }): Promise<GpuDataset> {
    const { batchSize, seed } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`batch size: expected a positive integer, found ${batchSize}`);
    }
    const pixels = set.channels * set.height * set.width;
    const limit = gpu.bindingLimit;
    const shardBytes = Math.min(opts.shardBytes ?? limit, limit);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    const order = gpu.createBuffer('epoch order', set.count * 4, usage);
    const table = gpu.tensor('normalization table', [256], 'f32', normalizationTable());
    const params = GATHER.uniform(gpu, { start: 0, count: batchSize, pixels }, 'gather params');
    const batch = gpu.tensor('real batch', [batchSize, set.channels, set.height, set.width]);
    const owned = [order, table.buffer, params, batch.buffer];
    let streamed: Streamed | null = null;
    let gather: Dispatch;
    // A set whose pixels stay on disk is always streamed: the host holds two packed shards of it.
    if (!set.onDisk && set.pixels.byteLength <= shardBytes) {
      // Bytes, 4 per u32 word (the tail word zero-padded).
      const padded = new Uint8Array(Math.ceil(set.pixels.byteLength / 4) * 4);
      padded.set(set.pixels);
      const images = gpu.tensor(`images of ${set.source}`, [padded.byteLength / 4], 'u32', new Uint32Array(padded.buffer)).buffer;
      owned.push(images);
      gather = await GATHER.prepare(gpu, { batch: batchSize, pixels }, { images, order, table, out: batch }, { uniform: params });
    } else {
      const batches = Math.floor(shardBytes / (batchSize * pixels));
      if (batches < 1) throw new Error(`${set.source}: one batch of ${batchSize} images is ${batchSize * pixels} bytes, more than a shard of ${shardBytes} bytes (this adapter's binding limit is ${limit})`);
      const images = Math.min(batches * batchSize, set.count);
      const bytes = Math.ceil((images * pixels) / 4) * 4;
      const buffers = [0, 1].map((k) => gpu.createBuffer(`image shard buffer ${k} of ${set.source}`, bytes, usage)) as [GPUBuffer, GPUBuffer];
      // Within a shard the images are packed in the epoch's order: the gather reads them in turn.
      const identity = gpu.tensor('shard order', [images], 'u32', Uint32Array.from({ length: images }, (_, i) => i)).buffer;
      const gathers = (await Promise.all(buffers.map((b) => GATHER.prepare(gpu, { batch: batchSize, pixels }, { images: b, order: identity, table, out: batch }, { uniform: params })))) as [Dispatch, Dispatch];
      owned.push(...buffers, identity);
      streamed = { images, buffers, gathers, holds: [-1, -1], current: 0 };
      gather = gathers[0];
    }
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
    const ds = new GpuDataset(gpu, set, batchSize, seed, batch, labels, order, params, owned, gather, streamed);
    ds.setEpoch(0);
    return ds;
  }

  /** The gather of the next batch: a streamed set's reads the buffer holding that batch's shard. */
  get gather(): Dispatch {
    return this.streamed ? this.streamed.gathers[this.streamed.current] : this.wholeGather;
  }

  /** Shards per epoch (1 when the whole set is on the GPU). */
  get shardsPerEpoch(): number {
    return this.streamed ? Math.ceil(this.set.count / this.streamed.images) : 1;
  }

  /** Whether batch `index` of an epoch is the first of a shard (a group of steps submitted together must not cross one). */
  startsShard(index: number): boolean {
    return !!this.streamed && (index * this.batchSize) % this.streamed.images === 0;
  }

  get batchesPerEpoch(): number {
    return batchesPerEpoch(this.set.count, this.batchSize);
  }

  /** The epoch whose order is in place, and that order (a streamed set packs its shards from it). */
  private epoch = 0;
  private hostOrder: Uint32Array = new Uint32Array(0);
  /** Whether the order in place was given (setOrder), not an epoch's: shards packed from it are nobody else's. */
  private explicitOrder = false;

  /** Shuffles for `epoch` (seeded) and uploads the order. */
  setEpoch(epoch: number): void {
    this.writeOrder(epochOrder(this.set.count, this.seed, epoch));
    // Shards are named by (epoch, shard): ones packed from a given order are no epoch's.
    if (this.explicitOrder && this.streamed) this.streamed.holds = [-1, -1];
    this.explicitOrder = false;
    this.epoch = epoch;
  }

  /** Uses an explicit order of image indices (tests, or a fixed evaluation order). */
  setOrder(order: Uint32Array): void {
    this.writeOrder(order);
    this.explicitOrder = true;
    if (this.streamed) this.streamed.holds = [-1, -1];
  }

  private writeOrder(order: Uint32Array): void {
    if (order.length !== this.set.count) {
      throw new Error(`order: expected ${this.set.count} indices, found ${order.length}`);
    }
    const bad = order.findIndex((i) => i >= this.set.count);
    if (bad >= 0) throw new Error(`order[${bad}] = ${order[bad]} is not an image index (< ${this.set.count})`);
    this.hostOrder = order;
    this.gpu.writeState(this.order, 0, order);
  }

  /** Bytes (and gathered floats) per image: C x H x W. */
  private get imageBytes(): number {
    return this.set.channels * this.set.height * this.set.width;
  }

  /** The size of batch `index` of an epoch (the last one may be short). */
  sizeOf(index: number): number {
    return batchSizeAt(this.set.count, this.batchSize, index);
  }

  /**
   * Selects which batch the next `gather` dispatch writes; returns its size. A streamed set
   * makes sure the batch's shard is in a buffer (uploading it if not) and, on a shard's first
   * batch, uploads the next shard into the other buffer, whose last reader was submitted before.
   */
  setBatch(index: number): number {
    const size = this.sizeOf(index);
    let start = index * this.batchSize;
    const labelStart = start;
    if (this.streamed) {
      const s = this.streamed;
      const shard = Math.floor(start / s.images);
      const key = this.epoch * this.shardsPerEpoch + shard;
      if (s.holds[key % 2] !== key) this.uploadShard(key);
      s.current = (key % 2) as 0 | 1;
      if (start % s.images === 0 && s.holds[(key + 1) % 2] !== key + 1) this.uploadShard(key + 1);
      start -= shard * s.images;
    }
    this.gpu.writeState(this.params, 0, new Uint8Array(GATHER.params({ start, count: size, pixels: this.imageBytes })));
    if (this.labels) this.gpu.writeState(this.labels.params, 0, new Uint8Array(LABELS.params({ start: labelStart, count: size })));
    return size;
  }

  /**
   * Packs shard `key` (epoch * shardsPerEpoch + shard) on the host in its epoch's order and
   * writes it into buffer key % 2 directly on the queue: ordered after every submit so far, which
   * is safe because no submitted group of steps still to come reads that buffer.
   */
  private uploadShard(key: number): void {
    const s = this.streamed!;
    const epoch = Math.floor(key / this.shardsPerEpoch);
    const shard = key % this.shardsPerEpoch;
    const order = epoch === this.epoch ? this.hostOrder : epochOrder(this.set.count, this.seed, epoch);
    const per = this.imageBytes;
    const first = shard * s.images;
    const n = Math.min(s.images, this.set.count - first);
    const packed = new Uint8Array(Math.ceil((n * per) / 4) * 4);
    const { pixels, onDisk } = this.set;
    for (let i = 0; i < n; i++) {
      const k = order[first + i]!;
      if (onDisk) onDisk.read(k, packed, i * per);
      else packed.set(pixels.subarray(k * per, (k + 1) * per), i * per);
    }
    this.gpu.device.queue.writeBuffer(s.buffers[key % 2]!, 0, packed);
    s.holds[key % 2] = key;
  }

  destroy(): void {
    for (const b of this.owned) this.gpu.destroyBuffer(b);
  }
}
