/** Latent noise z ~ N(0, 1) generated on the GPU, addressed by (seed, stream). */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { packUniforms } from '../gpu/program.js';
import { RANDOM_UNIFORMS, randomProgram } from '../shaders/random.js';
import { DOMAIN, philoxCounter, seedKey } from './philox.js';

export class NormalNoise {
  private readonly params: GPUBuffer;
  private constructor(
    private readonly gpu: Gpu,
    readonly out: Tensor,
    private seed: number,
    readonly dispatch: Dispatch,
    params: GPUBuffer,
    /** Which family of streams it draws from (DOMAIN: noise, augment). */
    private readonly domain: number,
  ) {
    this.params = params;
  }

  /** Fills `out` (all of it) with normals (or raw u32 bits) each time `dispatch` runs; set the stream before. */
  static async create(gpu: Gpu, out: Tensor, seed: number, kind: 'normal' | 'bits' = 'normal', domain: number = DOMAIN.noise): Promise<NormalNoise> {
    const program = randomProgram(kind);
    const params = program.uniform(gpu, { key0: 0, key1: 0, stream0: 0, stream1: 0, domain: 0, n: out.size, first: 0 }, `${out.label} noise params`);
    const dispatch = await program.prepare(gpu, { n: out.size }, { out }, { uniform: params });
    const noise = new NormalNoise(gpu, out, seed, dispatch, params, domain);
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
    const [, s0, s1, domain] = philoxCounter(0, stream, this.domain);
    this.gpu.writeState(this.params, 0, new Uint8Array(packUniforms(RANDOM_UNIFORMS, { key0: k0, key1: k1, stream0: s0, stream1: s1, domain, n: this.out.size, first: first / 4 }, 'random')));
  }
}
