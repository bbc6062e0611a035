/**
 * Drawing samples from a generator checkpoint in eval mode (BatchNorm uses running statistics).
 * Shared by the `sample` command and, later, the browser embedding API.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { parseSafetensors, SafetensorsError } from '../io/safetensors.js';
import { ActivationArena } from '../layers/activation-arena.js';
import type { PlanBuilder } from '../layers/layer.js';
import type { Sequential } from '../layers/sequential.js';
import { NormalNoise } from '../random/noise.js';
import { checkTensors, expectedModelTensors, loadStateDict } from './state-dict.js';
import { convPathFor } from '../layers/conv-base.js';
import { checkBatch, largestBatch, samplingNeed } from './limits.js';
import { generator } from './models.js';

/** Builds a generator from checkpoint bytes (ours, or exported from PyTorch with the reference keys). */
export function generatorFromCheckpoint(gpu: Gpu, bytes: Uint8Array, file: string): Sequential {
  const parsed = parseSafetensors(bytes, file);
  const w = parsed.tensors.get('model.0.weight');
  if (!w || w.shape.length !== 2) throw new SafetensorsError(file, 'missing tensor "model.0.weight" [6272, latent_dim]: not a generator checkpoint');
  const G = generator(w.shape[1]).allocate(gpu);
  const checked = checkTensors(parsed, file, expectedModelTensors(G));
  loadStateDict(gpu, G, checked.tensors);
  return G;
}

export function latentDim(G: Sequential): number {
  return G.paramSpecs()[0]!.shape[1]!;
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
    private readonly noise: NormalNoise,
    private readonly forward: Dispatch[],
    /** G's output for one batch, [batch, 1, 28, 28]. */
    readonly out: Tensor,
  ) {}

  /** `maxBatch`: images per dispatch at most (tests; the adapter's limit applies anyway). */
  static async create(gpu: Gpu, G: Sequential, n: number, maxBatch = SAMPLE_CHUNK): Promise<Sampler> {
    const latent = latentDim(G);
    // A multiple of 4 below n, so every batch starts on a whole Philox block of the noise stream.
    const conv = convPathFor(gpu);
    const fits = Math.min(maxBatch, largestBatch(gpu, samplingNeed(latent, conv)));
    const batch = n <= fits ? n : fits - (fits % 4);
    if (batch < 1) checkBatch(gpu, 1, samplingNeed(latent, conv), 'sampling batch');
    const z = gpu.tensor(`sample z (${batch})`, [batch, latent]);
    const noise = await NormalNoise.create(gpu, z, 0);
    // Eval-mode activations live one layer each, so the arena's slots hold a few of them at most.
    const arena = new ActivationArena(gpu, `sampler activations (batch ${batch})`);
    const { dispatches, y } = await arena.build(
      async (alloc) => {
        const plan: PlanBuilder = { gpu, dispatches: [], conv, alloc };
        return { dispatches: plan.dispatches, y: (await G.forward(plan, z, false)).y };
      },
      (p) => ({ dispatches: [noise.dispatch, ...p.dispatches], liveOut: [p.y] }),
    );
    return new Sampler(gpu, n, batch, z, noise, dispatches, y);
  }

  /** n images [n, 1, 28, 28] in [-1, 1] from noise drawn with `seed`. */
  async fromSeed(seed: number): Promise<Float32Array> {
    return this.collect((each) => this.eachBatch(seed, [], each));
  }

  /**
   * Runs G on `seed`'s noise one batch at a time, `after` appended to each batch's submit (e.g. a
   * classifier reading `out`), and awaits `each(first, count)` after each: the images stay on the
   * GPU unless `each` reads them.
   */
  async eachBatch(seed: number, after: Dispatch[], each: (first: number, count: number) => Promise<void>): Promise<void> {
    this.noise.reseed(seed);
    await this.batches((first) => {
      this.noise.setStream(0, first * this.z.shape[1]!);
      return [this.noise.dispatch];
    }, after, each);
  }

  /** The latent vectors `fromSeed(seed)` uses for the first batch, read back (for interpolation). */
  async latents(seed: number): Promise<Float32Array> {
    this.noise.reseed(seed);
    this.gpu.run([this.noise.dispatch], 'latents');
    return (await this.gpu.read(this.z)) as Float32Array;
  }

  /** Images for explicit latent vectors (n x latent values). */
  async fromLatents(z: Float32Array): Promise<Float32Array> {
    const d = this.z.shape[1]!;
    const slice = new Float32Array(this.batch * d);
    return this.collect((each) =>
      this.batches((first, count) => {
        slice.fill(0).set(z.subarray(first * d, (first + count) * d));
        this.gpu.write(this.z, slice);
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

/** n images [n, 1, 28, 28] in [-1, 1] from latent noise drawn with `seed`. */
export async function sampleImages(gpu: Gpu, G: Sequential, n: number, seed: number): Promise<Float32Array> {
  return (await Sampler.create(gpu, G, n)).fromSeed(seed);
}
