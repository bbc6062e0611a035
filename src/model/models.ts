/**
 * The reference DCGAN, layer for layer: the notebook's two nn.Sequentials (docs/design.md, "The
 * reference"; scripts/fixtures/reference_model.py is the PyTorch side). Indices match, so
 * parameter names are the reference's state_dict keys. With `classes` > 0, the conditional pair
 * (train --conditional; src/shaders/conditional.ts): G's first Linear also takes the one-hot
 * class, and D's last Linear gives 1 + classes outputs for its head, with no Sigmoid (the
 * head's loss applies it).
 */
import type { Gpu } from '../gpu/gpu.js';
import { LeakyReLU, ReLU, Sigmoid, Tanh } from '../layers/activation.js';
import { BatchNorm1d, BatchNorm2d } from '../layers/batchnorm.js';
import { ConvTranspose2d } from '../layers/conv-transpose2d.js';
import { Conv2d } from '../layers/conv2d.js';
import { Linear } from '../layers/linear.js';
import { Flatten, Unflatten } from '../layers/reshape.js';
import { Sequential } from '../layers/sequential.js';
import { numel } from '../gpu/tensor.js';
import { DOMAIN, PhiloxStream, seedKey } from '../random/philox.js';
import type { InitScheme } from '../layers/layer.js';

export const LATENT_DIM = 100;
export const IMAGE_SHAPE = [1, 28, 28] as const;

export function generator(latentDim = LATENT_DIM, classes = 0): Sequential {
  return new Sequential('generator', [
    new Linear(latentDim + classes, 128 * 7 * 7), // 0
    new BatchNorm1d(128 * 7 * 7), // 1
    ReLU(), // 2
    new Unflatten([128, 7, 7]), // 3
    new ConvTranspose2d(128, 64, 4, 2, 1), // 4
    new BatchNorm2d(64), // 5
    ReLU(), // 6
    new ConvTranspose2d(64, 1, 4, 2, 1), // 7
    Tanh(), // 8
  ]);
}

/** `sigmoid` false leaves D's last layer off, for the fused BCE-with-logits loss (and every conditional head). */
export function discriminator(sigmoid = true, classes = 0): Sequential {
  const layers = [
    new Conv2d(1, 64, 4, 2, 1), // 0
    LeakyReLU(0.2), // 1
    new Conv2d(64, 128, 4, 2, 1), // 2
    new BatchNorm2d(128), // 3
    LeakyReLU(0.2), // 4
    new Flatten(), // 5
    new Linear(128 * 7 * 7, 1 + classes), // 6
    Sigmoid(), // 7
  ];
  return new Sequential('discriminator', sigmoid && classes === 0 ? layers : layers.slice(0, -1));
}

export { INIT_SCHEMES, type InitScheme } from '../layers/layer.js';

/**
 * The Philox stream family of each model's initial values (each tensor then has its own
 * stream): G and D draw from disjoint streams. The classifier uses D's family (its committed
 * weights were trained from that start).
 */
export const INIT_STREAMS = { generator: 0, discriminator: 1 << 20 } as const;

/**
 * Initial values for every parameter and state tensor, each drawn by its own layer
 * (Layer.initParam) from a Philox stream per tensor (`stream` + the tensor's index): repeatable
 * from `seed`, but not PyTorch's random numbers.
 */
export function initialValues(model: Sequential, seed: number, scheme: InitScheme, stream: number): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  const key = seedKey(seed);
  let index = 0;
  for (const layer of model.layers) {
    for (const spec of layer.paramSpecs()) {
      const rng = new PhiloxStream(key, stream + index++, DOMAIN.init);
      values.set(layer.prefix + spec.name, layer.initParam(spec.name, numel(spec.shape), scheme, rng));
    }
    for (const spec of layer.stateSpecs()) values.set(layer.prefix + spec.name, layer.initState(spec.name, numel(spec.shape)));
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
