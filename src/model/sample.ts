/**
 * Drawing samples from a generator checkpoint in eval mode (BatchNorm uses running statistics).
 * Shared by the `sample` command and, later, the browser embedding API.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { parseSafetensors, SafetensorsError, widenedToF32, type SafeFile } from '../io/safetensors.js';
import { ActivationArena } from '../layers/activation-arena.js';
import { PlanBuilder, type KernelRoute } from '../layers/plan.js';
import type { Sequential } from '../layers/sequential.js';
import { NormalNoise } from '../random/noise.js';
import { checkTensors, expectedModelTensors, loadStateDict } from './state-dict.js';
import { convPathFor } from '../layers/conv-base.js';
import { samplingRoute } from '../layers/conv-route.js';
import { checkBatch, largestBatch, samplingNeed } from './limits.js';
import { ARCH_SIZES, generator, modelSpec, type ModelSpec } from './models.js';
import { concatOneHotProgram } from '../shaders/conditional.js';
import { invalidValue } from '../config/checks.js';

const CONCAT = concatOneHotProgram();

/** A generator loaded from a checkpoint, and what its classes are when it is conditional. */
export interface LoadedCheckpoint {
  G: Sequential;
  /** The class names of a conditional generator (label k draws classNames[k]); null: unconditional. */
  classNames: string[] | null;
}

/**
 * Builds a generator from checkpoint bytes (ours, or exported from PyTorch with the reference's
 * or pytorch/examples' keys): its family, channels, size and widths follow from the tensors'
 * shapes (generatorSpec). A conditional one says so in its metadata (`conditional`, `classes`,
 * `class_names`): its first layer takes latent_dim + classes inputs.
 */
export function generatorFromCheckpoint(gpu: Gpu, bytes: Uint8Array, file: string): LoadedCheckpoint {
  const parsed = widenedToF32(parseSafetensors(bytes, file));
  const { G, classNames } = checkedGenerator(parsed, file);
  loadStateDict(gpu, G.allocate(gpu), parsed.tensors);
  return { G, classNames };
}

/** The generator (not yet allocated) a parsed checkpoint describes, every tensor checked against it. */
export function checkedGenerator(parsed: SafeFile, file: string): { G: Sequential; classNames: string[] | null } {
  const classNames = checkpointClassNames(parsed.metadata, file);
  const G = generator(generatorSpec(parsed.tensors, classNames?.length ?? 0, file));
  checkTensors(parsed, file, expectedModelTensors(G));
  return { G, classNames };
}

/**
 * The generator a checkpoint's tensors describe: pytorch/examples' dcgan family when it has
 * `main.0.weight` [nz, ngf * size / 8, 4, 4] (its size from the index of its last layer), else the reference, whose `model.0.weight` is
 * [128 * (size/4)^2, latent_dim] and whose last layer `model.7.weight` is [64, channels, 4, 4].
 * Every other tensor is then checked against the model this builds.
 */
export function generatorSpec(tensors: ReadonlyMap<string, { shape: number[] }>, classes: number, file: string): ModelSpec {
  const shape = (key: string, dims: number) => {
    const t = tensors.get(key);
    if (!t || t.shape.length !== dims) return null;
    return t.shape;
  };
  const inputs = (n: number, key: string) => {
    if (n <= classes) throw new SafetensorsError(file, `tensor "${key}" takes ${n} inputs: too few for a conditional generator of ${classes} classes`);
    return n - classes;
  };
  const firstDcgan = shape('main.0.weight', 4);
  if (firstDcgan) {
    // The last layer is main.{3 (blocks + 1)}: main.12 at 64, one block (3 indices) more per doubling.
    const convs = [...tensors.keys()].map((k) => /^main\.(\d+)\.weight$/.exec(k)).filter((m) => m !== null && shape(m[0], 4));
    const lastIndex = Math.max(...convs.map((m) => Number(m![1])));
    const size = 2 ** (lastIndex / 3 + 2);
    const last = shape(`main.${lastIndex}.weight`, 4)!;
    if (!ARCH_SIZES.dcgan.includes(size) || firstDcgan[1]! % (size / 8) !== 0) {
      throw new SafetensorsError(file, `tensors "main.0.weight" [nz, ngf x size / 8, 4, 4] and "main.${lastIndex}.weight" [ngf, nc, 4, 4] do not describe a dcgan generator of 32, 64, 128 or 256 pixels`);
    }
    return modelSpec({ arch: 'dcgan', size, latentDim: inputs(firstDcgan[0]!, 'main.0.weight'), ngf: firstDcgan[1]! / (size / 8), channels: last[1]!, classes });
  }
  const first = shape('model.0.weight', 2);
  const last = shape('model.7.weight', 4);
  if (!first || !last) throw new SafetensorsError(file, 'missing tensor "model.0.weight" [128 x (size/4)^2, latent_dim] or "model.7.weight" [64, channels, 4, 4]: not a generator checkpoint');
  const side = Math.sqrt(first[0]! / 128);
  if (!ARCH_SIZES.reference.includes(side * 4)) {
    throw new SafetensorsError(file, `tensor "model.0.weight" has ${first[0]} rows: expected 128 x 7 x 7 (28x28 images) or 128 x 8 x 8 (32x32)`);
  }
  return modelSpec({ arch: 'reference', size: side * 4, latentDim: inputs(first[1]!, 'model.0.weight'), channels: last[1]!, classes });
}

/** A checkpoint's class names (null: unconditional), checked against its `classes`. */
export function checkpointClassNames(meta: Record<string, string>, file: string): string[] | null {
  if (meta.conditional === undefined || meta.conditional === 'none') return null;
  const classes = Number(meta.classes);
  if (!Number.isSafeInteger(classes) || classes < 2) throw new SafetensorsError(file, `metadata "classes": expected an integer >= 2 for a conditional model, found ${JSON.stringify(meta.classes ?? null)}`);
  return metadataClassNames(meta, classes, file);
}

/** A file's metadata "class_names": a JSON list of `classes` names, or the error naming the file and what it found. */
export function metadataClassNames(meta: Record<string, string>, classes: number, file: string): string[] {
  let names: unknown;
  try {
    names = JSON.parse(meta.class_names ?? 'null');
  } catch {
    names = null;
  }
  if (!Array.isArray(names) || names.length !== classes || names.some((n) => typeof n !== 'string')) {
    throw new SafetensorsError(file, `metadata "class_names": expected a JSON list of ${classes} names, found ${JSON.stringify(meta.class_names ?? null)}`);
  }
  return names as string[];
}

/**
 * The label of the class a caller asks for, by its label (a number) or its name; a bad one is the
 * checks' invalid value, naming `source` (and the `alternatives` the caller also takes, e.g. `all, `).
 */
export function classLabel(asked: number | string, names: readonly string[], source: string, alternatives = ''): number {
  const k = typeof asked === 'string' ? names.indexOf(asked) : asked;
  if (Number.isInteger(k) && k >= 0 && k < names.length) return k;
  throw invalidValue(source, `${alternatives}a label 0..${names.length - 1} or a class name (${names.join(', ')})`, String(asked));
}

/** The inputs of G's first layer: the latent size, plus the classes of a conditional G. */
export function latentDim(G: Sequential): number {
  return G.inputShape[0]!;
}

/** One image of G's output, [C, H, W]. */
export function imageShapeOf(G: Sequential): [number, number, number] {
  return G.outputShape([1, ...G.inputShape]).slice(1) as [number, number, number];
}

/** Images per dispatch at most when sampling many: bounds the memory a large --n takes. */
const SAMPLE_CHUNK = 1024;

/**
 * Eval-mode generation of n images, built once and reused: z is filled either from the seeded
 * GPU noise (the same numbers training draws for that seed at stream 0) or from the host. Any n
 * works: above what one dispatch can hold (the adapter's binding limit, or SAMPLE_CHUNK) the
 * images are made in batches, each drawing its slice of the same noise stream, so image i is
 * the same whatever n is (eval-mode G treats every image on its own).
 */
export class Sampler {
  private constructor(
    private readonly gpu: Gpu,
    readonly n: number,
    /** Images per dispatch. */
    readonly batch: number,
    readonly z: Tensor,
    /** [batch] labels of a conditional G (host-written per batch); null: unconditional. */
    private readonly labels: Tensor | null,
    private readonly noise: NormalNoise,
    private readonly forward: Dispatch[],
    /** G's output for one batch, [batch, C, H, W]. */
    readonly out: Tensor,
    /** Classes of a conditional G; 0: unconditional. */
    readonly classes: number,
  ) {}

  /**
   * `maxBatch`: images per dispatch at most (tests; the adapter's limit applies anyway).
   * `classes`: G is conditional on that many classes, and every call says which class each image is.
   * `chosen`: the kernels the user named (eval --conv, --matmul); by default the adapter's sampling rule.
   */
  static async create(gpu: Gpu, G: Sequential, n: number, maxBatch = SAMPLE_CHUNK, classes = 0, chosen: KernelRoute = {}): Promise<Sampler> {
    const latent = latentDim(G) - classes;
    // A multiple of 4 below n, so every batch starts on a whole Philox block of the noise stream.
    const conv = convPathFor(gpu, chosen.conv);
    const fits = Math.min(maxBatch, largestBatch(gpu, samplingNeed(G, conv)));
    const batch = n <= fits ? n : fits - (fits % 4);
    if (batch < 1) checkBatch(gpu, 1, samplingNeed(G, conv), 'sampling batch');
    // A small batch takes the compile-light route, whose explicit convolutions' col buffers are larger.
    const route = samplingRoute(gpu, batch, chosen);
    checkBatch(gpu, batch, samplingNeed(G, route.conv), 'sampling batch');
    const z = gpu.tensor(`sample z (${batch})`, [batch, latent]);
    const noise = await NormalNoise.create(gpu, z, 0);
    const labels = classes ? gpu.tensor(`sample labels (${batch})`, [batch]) : null;
    // Eval-mode activations live one layer each, so the arena's slots hold a few of them at most.
    const arena = new ActivationArena(gpu, `sampler activations (batch ${batch})`);
    const { dispatches, y } = await arena.build(
      async (alloc) => {
        const plan = new PlanBuilder(gpu, { ...route, alloc });
        let input = z;
        if (labels) {
          input = alloc('sample G input (z, onehot(y))', [batch, latent + classes]);
          plan.add(await CONCAT.prepare(gpu, { rows: batch, latent, classes }, { z, labels, out: input }));
        }
        return { dispatches: plan.dispatches, y: (await G.forward(plan, input, { training: false })).y };
      },
      (p) => ({ dispatches: [noise.dispatch, ...p.dispatches], liveOut: [p.y] }),
    );
    return new Sampler(gpu, n, batch, z, labels, noise, dispatches, y, classes);
  }

  /** n images [n, C, H, W] in [-1, 1] from noise drawn with `seed` (a conditional G: of classes `labels`, n of them). */
  async fromSeed(seed: number, labels?: ArrayLike<number>): Promise<Float32Array> {
    return this.collect((each) => this.eachBatch(seed, [], each, labels));
  }

  /** Checks `labels` against a conditional G's classes (one per image), or their absence for an unconditional one. */
  private checkLabels(labels: ArrayLike<number> | undefined): void {
    if (!this.labels) {
      if (labels !== undefined) throw new Error('labels given, but this generator is unconditional (train --conditional makes one that takes classes)');
      return;
    }
    if (labels === undefined) throw new Error(`a conditional generator needs a class for each image (0..${this.classes - 1})`);
    if (labels.length !== this.n) throw new Error(`labels: expected ${this.n} (one per image), found ${labels.length}`);
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (!Number.isInteger(l) || l < 0 || l >= this.classes) throw new Error(`labels[${i}]: expected a class 0..${this.classes - 1}, found ${l}`);
    }
  }

  /** Writes the labels of images first .. first + count - 1 (a conditional G). */
  private writeLabels(labels: ArrayLike<number> | undefined, first: number, count: number): void {
    if (!this.labels || !labels) return;
    const slice = new Float32Array(this.batch);
    for (let i = 0; i < count; i++) slice[i] = labels[first + i]!;
    this.gpu.write(this.labels, slice);
  }

  /**
   * Runs G on `seed`'s noise one batch at a time, `after` appended to each batch's submit (e.g. a
   * classifier reading `out`), and awaits `each(first, count)` after each: the images stay on the
   * GPU unless `each` reads them.
   */
  async eachBatch(seed: number, after: Dispatch[], each: (first: number, count: number) => Promise<void>, labels?: ArrayLike<number>): Promise<void> {
    this.checkLabels(labels);
    this.noise.reseed(seed);
    await this.batches((first, count) => {
      this.noise.setStream(0, first * this.z.shape[1]!);
      this.writeLabels(labels, first, count);
      return [this.noise.dispatch];
    }, after, each);
  }

  /** The latent vectors `fromSeed(seed)` uses for the first batch, read back (for interpolation). */
  async latents(seed: number): Promise<Float32Array> {
    this.noise.reseed(seed);
    this.gpu.run([this.noise.dispatch], 'latents');
    return (await this.gpu.read(this.z)) as Float32Array;
  }

  /** Images for explicit latent vectors (n x latent values; a conditional G: of classes `labels`). */
  async fromLatents(z: Float32Array, labels?: ArrayLike<number>): Promise<Float32Array> {
    this.checkLabels(labels);
    const d = this.z.shape[1]!;
    const slice = new Float32Array(this.batch * d);
    return this.collect((each) =>
      this.batches((first, count) => {
        slice.fill(0).set(z.subarray(first * d, (first + count) * d));
        this.gpu.write(this.z, slice);
        this.writeLabels(labels, first, count);
        return [];
      }, [], each),
    );
  }

  /** The one batch loop: `inputs(first, count)` fills z (its dispatches run first), then G, then `after`. */
  private async batches(inputs: (first: number, count: number) => Dispatch[], after: Dispatch[], each: (first: number, count: number) => Promise<void>): Promise<void> {
    for (let first = 0; first < this.n; first += this.batch) {
      const count = Math.min(this.batch, this.n - first);
      this.gpu.run([...inputs(first, count), ...this.forward, ...after], 'sample');
      await each(first, count);
    }
  }

  /** Reads `out` after each batch a loop runs into one array of the n images. */
  private async collect(loop: (each: (first: number, count: number) => Promise<void>) => Promise<void>): Promise<Float32Array> {
    const per = this.out.size / this.batch;
    const images = new Float32Array(this.n * per);
    await loop(async (first, count) => {
      images.set(((await this.gpu.read(this.out)) as Float32Array).subarray(0, count * per), first * per);
    });
    return images;
  }
}

/** n images [n, C, H, W] in [-1, 1] from latent noise drawn with `seed` (a conditional G of `classes`: of classes `labels`). */
export async function sampleImages(gpu: Gpu, G: Sequential, n: number, seed: number, labels?: { classes: number; labels: ArrayLike<number> }): Promise<Float32Array> {
  return (await Sampler.create(gpu, G, n, SAMPLE_CHUNK, labels?.classes ?? 0)).fromSeed(seed, labels?.labels);
}

/** The labels of a class-per-row grid: `perClass` images of class 0, then of class 1, ... */
export function classRows(classes: number, perClass: number): number[] {
  return Array.from({ length: classes * perClass }, (_, i) => Math.floor(i / perClass));
}
