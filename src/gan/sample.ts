/**
 * Drawing samples from a generator checkpoint in eval mode (BatchNorm uses running statistics).
 * Shared by the `sample` command and, later, the browser embedding API.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { parseSafetensors, SafetensorsError } from '../io/safetensors.js';
import type { PlanBuilder } from '../layers/layer.js';
import type { Sequential } from '../layers/sequential.js';
import { NormalNoise } from '../random/noise.js';
import { checkTensors, expectedModelTensors, loadStateDict } from './checkpoint.js';
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

/**
 * Eval-mode generation for one batch size, built once and reused: z is filled either from the
 * seeded GPU noise (the same numbers training draws for that seed at stream 0) or from the host.
 */
export class Sampler {
  private constructor(
    private readonly gpu: Gpu,
    readonly n: number,
    readonly z: Tensor,
    private readonly noise: NormalNoise,
    private readonly forward: Dispatch[],
    private readonly out: Tensor,
  ) {}

  static async create(gpu: Gpu, G: Sequential, n: number): Promise<Sampler> {
    const z = gpu.tensor(`sample z (${n})`, [n, latentDim(G)]);
    const noise = await NormalNoise.create(gpu, z, 0);
    const plan: PlanBuilder = { gpu, dispatches: [] };
    const { y } = await G.forward(plan, z, false);
    return new Sampler(gpu, n, z, noise, plan.dispatches, y);
  }

  /** n images [n, 1, 28, 28] in [-1, 1] from noise drawn with `seed`. */
  async fromSeed(seed: number): Promise<Float32Array> {
    this.noise.reseed(seed);
    this.gpu.run([this.noise.dispatch, ...this.forward], 'sample');
    return (await this.gpu.read(this.out)) as Float32Array;
  }

  /** The latent vectors `fromSeed(seed)` uses, read back (for interpolation). */
  async latents(seed: number): Promise<Float32Array> {
    this.noise.reseed(seed);
    this.gpu.run([this.noise.dispatch], 'latents');
    return (await this.gpu.read(this.z)) as Float32Array;
  }

  /** Images for explicit latent vectors (n x latent values). */
  async fromLatents(z: Float32Array): Promise<Float32Array> {
    this.gpu.write(this.z, z);
    this.gpu.run(this.forward, 'sample');
    return (await this.gpu.read(this.out)) as Float32Array;
  }
}

/** n images [n, 1, 28, 28] in [-1, 1] from latent noise drawn with `seed`. */
export async function sampleImages(gpu: Gpu, G: Sequential, n: number, seed: number): Promise<Float32Array> {
  return (await Sampler.create(gpu, G, n)).fromSeed(seed);
}
