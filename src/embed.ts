/**
 * The package's browser entry (bundlers pick it through the `browser` export condition; no Node
 * module is reachable from here): load a generator checkpoint and draw digits, or train live.
 * Node's entry, src/index.ts, re-exports all of this and adds file-system helpers.
 *
 *   import { loadGenerator } from 'webgpu-dcgan';
 *   const g = await loadGenerator('generator.safetensors');   // URL, File/Blob or bytes; or a shipped one: 'mnist', 'mnist-conditional'
 *   const images = await g.sample({ n: 25, seed: 1 });       // Float32Array, n x 28 x 28 in [-1, 1]
 *   g.drawTo(document.querySelector('canvas'));               // the last sample as a 5x5 grid
 *   // a conditional checkpoint (train --conditional): g.classes names its classes
 *   await g.sample({ n: 10, seed: 1, label: 7 });              // ten 7s (or one label per image)
 */
import { makeGrid, type Grid } from './image/images.js';
import { Sampler, classLabel, generatorFromCheckpoint, imageShapeOf, latentDim } from './model/sample.js';
import { requestGpu, type Gpu, type GpuOptions } from './gpu/gpu.js';
import type { Sequential } from './layers/sequential.js';
import { BACKENDS } from './gpu/backend.js';
import { checkChoice, checkInt } from './config/checks.js';
import { SHIPPED_GENERATORS, isShippedName } from './model/shipped.js';

export { requestGpu, Gpu, type GpuOptions } from './gpu/gpu.js';
export { makeGrid, type Grid } from './image/images.js';
export { GanTrainer, REFERENCE_CONFIG, type TrainConfig, type StepStats } from './train/trainer.js';
export { modelStateDict, serialize } from './model/state-dict.js';
export { imageSetFromIdx, parseIdx, IdxError, type ImageSet } from './data/idx.js';
export { assembleImageSet, FolderError, type FolderReport, type ImageFile } from './data/image-folder.js';
export { parseSafetensors, SafetensorsError } from './io/safetensors.js';
export { profileDispatches, profileTable, formatProfileTable, profileMethod, profileCells, profileColumns, formatCeilings, gemmShare, chromeTrace, type KernelProfile, type Ceilings } from './gpu/profiler.js';
export { adapterCeilings } from './layers/adapter-ceilings.js';
export { BACKENDS, type Backend } from './gpu/backend.js';
export { checkInt, checkNumber, checkChoice, InvalidValueError } from './config/checks.js';
export { SHIPPED_GENERATORS, type ShippedName } from './model/shipped.js';

export type CheckpointSource = string | URL | Blob | ArrayBuffer | Uint8Array;
/** A class of a conditional generator: its label (0..K-1) or its name. */
export type Label = number | string;

async function bytesOf(source: CheckpointSource): Promise<{ bytes: Uint8Array; name: string }> {
  if (source instanceof Uint8Array) return { bytes: source, name: 'checkpoint bytes' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), name: 'checkpoint bytes' };
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return { bytes: new Uint8Array(await source.arrayBuffer()), name: (source as File).name ?? 'checkpoint blob' };
  }
  const url = String(source);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
  return { bytes: new Uint8Array(await res.arrayBuffer()), name: url };
}

/** Draws a grid (RGB) onto a canvas, resizing the canvas to it. */
export function drawGrid(canvas: HTMLCanvasElement, grid: Grid): void {
  canvas.width = grid.width;
  canvas.height = grid.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('drawTo: the canvas has no 2d context (is it used for WebGPU already?)');
  const rgba = new Uint8ClampedArray(grid.width * grid.height * 4);
  for (let i = 0; i < grid.width * grid.height; i++) {
    rgba[4 * i] = grid.rgb[3 * i]!;
    rgba[4 * i + 1] = grid.rgb[3 * i + 1]!;
    rgba[4 * i + 2] = grid.rgb[3 * i + 2]!;
    rgba[4 * i + 3] = 255;
  }
  ctx.putImageData(new ImageData(rgba, grid.width, grid.height), 0, 0);
}

export class LoadedGenerator {
  /** Whether destroy() releases the GPU (it was opened by loadGenerator, not passed in). */
  ownsGpu = false;

  /** The last images sample() or interpolate() produced. */
  last: { images: Float32Array; n: number } | null = null;
  private readonly samplers = new Map<number, Promise<Sampler>>();

  constructor(
    readonly gpu: Gpu,
    readonly model: Sequential,
    /** A conditional generator's class names (label k draws classes[k]); null: unconditional. */
    readonly classes: readonly string[] | null = null,
  ) {}

  /** One image's [channels, height, width]: [1, 28, 28] for the reference, [3, 64, 64] for a colour dcgan64. */
  get shape(): [number, number, number] {
    return imageShapeOf(this.model);
  }

  /** The latent vector's size (without the one-hot class of a conditional generator). */
  get latentDim(): number {
    return latentDim(this.model) - (this.classes?.length ?? 0);
  }

  private sampler(n: number): Promise<Sampler> {
    checkInt(n, 'n');
    let s = this.samplers.get(n);
    if (!s) this.samplers.set(n, (s = Sampler.create(this.gpu, this.model, n, undefined, this.classes?.length ?? 0)));
    return s;
  }

  /**
   * The labels of n images: `label` a class for all of them or one per image (a label number or a
   * class name); a conditional generator without one draws the classes in turn (0, 1, ..., K-1, 0, ...).
   */
  private labelsFor(n: number, label: Label | readonly Label[] | undefined): number[] | undefined {
    if (!this.classes) {
      if (label !== undefined) throw new Error('label: this generator is unconditional (train --conditional makes one that takes classes)');
      return undefined;
    }
    const names = this.classes;
    const one = (l: Label, what: string) => classLabel(l, names, what);
    if (label === undefined) return Array.from({ length: n }, (_, i) => i % names.length);
    if (Array.isArray(label)) {
      if (label.length !== n) throw new Error(`label: expected ${n} labels (one per image), found ${label.length}`);
      return label.map((l, i) => one(l, `label[${i}]`));
    }
    return new Array<number>(n).fill(one(label as Label, 'label'));
  }

  /** n images (n x C x H x W floats in [-1, 1]; `shape` says C, H, W) from the seeded noise, G in eval mode; `label`: the class(es) of a conditional generator. */
  async sample({ n = 25, seed = 0, label }: { n?: number; seed?: number; label?: Label | readonly Label[] } = {}): Promise<Float32Array> {
    checkInt(seed, 'seed', 0);
    checkInt(n, 'n');
    const labels = this.labelsFor(n, label);
    const images = await (await this.sampler(n)).fromSeed(seed, labels);
    this.last = { images, n };
    return images;
  }

  /**
   * `steps` images along the straight line between the first latent vectors of two seeds; a
   * conditional generator stays within one class (`label`, default 0).
   */
  async interpolate(seedA: number, seedB: number, steps = 10, { label }: { label?: Label } = {}): Promise<Float32Array> {
    checkInt(seedA, 'seedA', 0);
    checkInt(seedB, 'seedB', 0);
    checkInt(steps, 'steps');
    const one = await this.sampler(1);
    const [a, b] = [await one.latents(seedA), await one.latents(seedB)];
    const d = this.latentDim;
    const z = new Float32Array(steps * d);
    for (let s = 0; s < steps; s++) {
      const t = steps === 1 ? 0 : s / (steps - 1);
      for (let i = 0; i < d; i++) z[s * d + i] = (1 - t) * a[i]! + t * b[i]!;
    }
    const labels = this.classes ? this.labelsFor(steps, label ?? 0) : this.labelsFor(steps, label);
    const images = await (await this.sampler(steps)).fromLatents(z, labels);
    this.last = { images, n: steps };
    return images;
  }

  /** Releases the GPU device if loadGenerator opened it (lets a Node process exit). */
  destroy(): void {
    if (this.ownsGpu) this.gpu.destroy();
  }

  /** The last sample as an RGB grid (min-max normalised like save_image(normalize=True)). */
  grid({ nrow = 5 }: { nrow?: number } = {}): Grid {
    if (!this.last) throw new Error('grid: call sample() or interpolate() first');
    checkInt(nrow, 'nrow');
    return makeGrid(this.last.images, this.last.n, this.shape, nrow);
  }

  /** Draws the last sample as a grid (min-max normalised like save_image(normalize=True)). */
  drawTo(canvas: HTMLCanvasElement, { nrow = 5 }: { nrow?: number } = {}): void {
    drawGrid(canvas, this.grid({ nrow }));
  }
}

/** Loads a generator checkpoint (ours, or a reference PyTorch one converted to safetensors). */
export async function loadGenerator(source: CheckpointSource, options: GpuOptions & { gpu?: Gpu } = {}, name?: string): Promise<LoadedGenerator> {
  if (options.backend !== undefined) checkChoice(options.backend, 'backend', BACKENDS);
  const loaded = await bytesOf(typeof source === 'string' && isShippedName(source) ? SHIPPED_GENERATORS[source] : source);
  const bytes = loaded.bytes;
  name ??= loaded.name;
  const gpu = options.gpu ?? (await requestGpu(options));
  try {
    const { G, classNames } = generatorFromCheckpoint(gpu, bytes, name);
    const g = new LoadedGenerator(gpu, G, classNames);
    g.ownsGpu = !options.gpu;
    return g;
  } catch (err) {
    if (!options.gpu) gpu.destroy();
    throw err;
  }
}
