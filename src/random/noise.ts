/** Latent noise z ~ N(0, 1) generated on the GPU, addressed by (seed, stream). */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { grid1d } from '../shaders/common.js';
import { RANDOM_WG, randomKernel } from '../shaders/random.js';
import { DOMAIN, philoxCounter, seedKey } from './philox.js';

export class NormalNoise {
  private readonly params: GPUBuffer;
  private constructor(
    private readonly gpu: Gpu,
    readonly out: Tensor,
    private seed: number,
    readonly dispatch: Dispatch,
    params: GPUBuffer,
  ) {
    this.params = params;
  }

  /** Fills `out` (all of it) with normals each time `dispatch` runs; set the stream before. */
  static async create(gpu: Gpu, out: Tensor, seed: number, kind: 'normal' | 'bits' = 'normal'): Promise<NormalNoise> {
    const params = gpu.createBuffer(`${out.label} noise params`, 32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    const threads = Math.ceil(out.size / 4);
    const dispatch = await gpu.prepare(randomKernel(kind), [params, out], grid1d(threads, RANDOM_WG, gpu.limits.maxComputeWorkgroupsPerDimension));
    const noise = new NormalNoise(gpu, out, seed, dispatch, params);
    noise.setStream(0);
    return noise;
  }

  /** Switches to another seed (stream 0). */
  reseed(seed: number): void {
    this.seed = seed;
    this.setStream(0);
  }

  /**
   * Selects which numbers the next dispatch draws (e.g. the training step): values `first` ..
   * `first + out.size - 1` of the stream, `first` a multiple of 4 (one Philox block per 4 values).
   */
  setStream(stream: number, first = 0): void {
    if (first % 4 !== 0) throw new Error(`noise: first value ${first} must be a multiple of 4`);
    const [k0, k1] = seedKey(this.seed);
    const [, s0, s1, domain] = philoxCounter(0, stream, DOMAIN.noise);
    this.gpu.writeState(this.params, 0, new Uint32Array([k0, k1, s0, s1, domain, this.out.size, first / 4, 0]));
  }
}
