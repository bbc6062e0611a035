/**
 * Drawing samples from a generator checkpoint in eval mode (BatchNorm uses running statistics).
 * Shared by the `sample` command and, later, the browser embedding API.
 */
import type { Gpu } from '../gpu/gpu.js';
import { parseSafetensors, SafetensorsError } from '../io/safetensors.js';
import type { PlanBuilder } from '../layers/layer.js';
import type { Sequential } from '../layers/sequential.js';
import { NormalNoise } from '../random/noise.js';
import { expectedModelTensors, loadStateDict, parseChecked } from './checkpoint.js';
import { generator } from './models.js';

/** Builds a generator from checkpoint bytes (ours, or exported from PyTorch with the reference keys). */
export function generatorFromCheckpoint(gpu: Gpu, bytes: Uint8Array, file: string): Sequential {
  const { tensors } = parseSafetensors(bytes, file);
  const w = tensors.get('model.0.weight');
  if (!w || w.shape.length !== 2) throw new SafetensorsError(file, 'missing tensor "model.0.weight" [6272, latent_dim]: not a generator checkpoint');
  const G = generator(w.shape[1]).allocate(gpu);
  const checked = parseChecked(bytes, file, expectedModelTensors(G));
  loadStateDict(gpu, G, checked.tensors);
  return G;
}

/** n images [n, 1, 28, 28] in [-1, 1] from latent noise drawn with `seed`. */
export async function sampleImages(gpu: Gpu, G: Sequential, n: number, seed: number): Promise<Float32Array> {
  const latent = G.paramSpecs()[0]!.shape[1]!;
  const z = gpu.tensor('sample z', [n, latent]);
  const noise = await NormalNoise.create(gpu, z, seed);
  const plan: PlanBuilder = { gpu, dispatches: [] };
  const { y } = await G.forward(plan, z, false);
  gpu.run([noise.dispatch, ...plan.dispatches], 'sample');
  return (await gpu.read(y)) as Float32Array;
}
