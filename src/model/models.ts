/**
 * The reference DCGAN, layer for layer (see DESIGN.md, "The reference model"). Indices match the
 * PyTorch nn.Sequential, so parameter names are the reference's state_dict keys.
 */
import type { Gpu } from '../gpu/gpu.js';
import { LeakyReLU, ReLU, Sigmoid, Tanh } from '../layers/activation.js';
import { BatchNorm } from '../layers/batchnorm.js';
import { ConvTranspose2d } from '../layers/conv-transpose2d.js';
import { Conv2d } from '../layers/conv2d.js';
import { Linear } from '../layers/linear.js';
import { Flatten, Unflatten } from '../layers/reshape.js';
import { Sequential } from '../layers/sequential.js';
import { DOMAIN, PhiloxStream, normalFloat, seedKey, unitFloat } from '../random/philox.js';

export const LATENT_DIM = 100;
export const IMAGE_SHAPE = [1, 28, 28] as const;

export function generator(latentDim = LATENT_DIM): Sequential {
  return new Sequential('generator', [
    new Linear(latentDim, 128 * 7 * 7), // 0
    new BatchNorm(128 * 7 * 7, 1), // 1
    ReLU(), // 2
    new Unflatten([128, 7, 7]), // 3
    new ConvTranspose2d(128, 64, 4, 2, 1), // 4
    new BatchNorm(64, 2), // 5
    ReLU(), // 6
    new ConvTranspose2d(64, 1, 4, 2, 1), // 7
    Tanh(), // 8
  ]);
}

/** `sigmoid` false leaves D's last layer off, for the fused BCE-with-logits loss. */
export function discriminator(sigmoid = true): Sequential {
  const layers = [
    new Conv2d(1, 64, 4, 2, 1), // 0
    LeakyReLU(0.2), // 1
    new Conv2d(64, 128, 4, 2, 1), // 2
    new BatchNorm(128, 2), // 3
    LeakyReLU(0.2), // 4
    new Flatten(), // 5
    new Linear(128 * 7 * 7, 1), // 6
    Sigmoid(), // 7
  ];
  return new Sequential('discriminator', sigmoid ? layers : layers.slice(0, -1));
}

export type InitScheme = 'pytorch' | 'dcgan';
export const INIT_SCHEMES: readonly InitScheme[] = ['pytorch', 'dcgan'];

/**
 * Initial values for every parameter and state tensor, generated on the host from `seed` (our own
 * Philox stream per tensor: repeatable, but not PyTorch's random numbers).
 *  - `pytorch`: PyTorch's defaults. Linear/Conv weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 *    (kaiming_uniform with a = sqrt(5)); fan_in = size(1) * kernel area, which for ConvTranspose2d
 *    ([Cin, Cout, k, k]) is Cout * k * k, as PyTorch computes it. BatchNorm weight 1, bias 0.
 *  - `dcgan`: the DCGAN paper's weights_init: conv and linear weights ~ N(0, 0.02), biases 0;
 *    BatchNorm weight ~ N(1, 0.02), bias 0.
 * Running statistics start at mean 0, variance 1.
 */
export function initialValues(model: Sequential, seed: number, scheme: InitScheme = 'pytorch'): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  const key = seedKey(seed);
  const salt = model.label === 'generator' ? 0 : 1 << 20;
  model.paramSpecs().forEach((spec, index) => {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const rng = new PhiloxStream(key, salt + index, DOMAIN.init);
    const isBatchNorm = spec.shape.length === 1 && model.layers.find((l) => spec.name.startsWith(l.prefix))?.kind.startsWith('BatchNorm');
    const out = new Float32Array(n);
    const isWeight = spec.name.endsWith('.weight');
    if (isBatchNorm) {
      if (isWeight) for (let i = 0; i < n; i++) out[i] = scheme === 'dcgan' ? 1 + 0.02 * normalFloat(rng) : 1;
    } else if (scheme === 'dcgan') {
      if (isWeight) for (let i = 0; i < n; i++) out[i] = 0.02 * normalFloat(rng);
    } else {
      const weightShape = isWeight ? spec.shape : model.paramSpecs().find((s) => s.name === spec.name.replace(/bias$/, 'weight'))!.shape;
      const fanIn = weightShape.slice(1).reduce((a, b) => a * b, 1);
      const bound = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < n; i++) out[i] = (2 * unitFloat(rng) - 1) * bound;
    }
    values.set(spec.name, out);
  });
  for (const spec of model.stateSpecs()) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    values.set(spec.name, new Float32Array(n).fill(spec.name.endsWith('running_var') ? 1 : 0));
  }
  return values;
}

/** Uploads named values into a model's arenas (parameters or state, by name). */
export function loadValues(gpu: Gpu, model: Sequential, values: Map<string, Float32Array>): void {
  for (const [name, v] of values) {
    if (model.params.entries.has(name)) gpu.write(model.params.view('param', name), v);
    else if (model.state.entries.has(name)) gpu.write(model.state.view('state', name), v);
    else throw new Error(`${model.label}: no tensor named "${name}"`);
  }
}
