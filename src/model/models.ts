/**
 * The reference DCGAN, layer for layer: the notebook's two nn.Sequentials (docs/design.md, "The
 * reference"; scripts/fixtures/reference_model.py is the PyTorch side), and pytorch/examples'
 * dcgan at 64x64 and its extension to 32-256 (scripts/fixtures/dcgan64_model.py). Indices match, so parameter names are each
 * reference's state_dict keys (`model.0.weight`; `main.0.weight`). With `classes` > 0, the conditional pair
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
import { Flatten, Identity, Unflatten } from '../layers/reshape.js';
import { Sequential } from '../layers/sequential.js';
import { SpectralNorm } from '../layers/spectral-norm.js';
import { numel } from '../gpu/tensor.js';
import { DOMAIN, PhiloxStream, seedKey } from '../random/philox.js';
import type { InitScheme } from '../layers/layer.js';

export const LATENT_DIM = 100;

/** D's normalisation after each inner convolution (train --d-norm). */
export const D_NORMS = ['batch', 'none'] as const;
export type DNorm = (typeof D_NORMS)[number];

/**
 * The model families: `reference`, the notebook's pair (28x28, or 32x32 where the 7x7 start
 * becomes 8x8), any number of channels; `dcgan`, pytorch/examples' dcgan (at 64x64 its model
 * exactly: five transposed convolutions, widths from ngf and ndf) and its extension to 32, 128
 * and 256 pixels, one stride-2 block per doubling; `dcgan64`, its first name, is dcgan at 64.
 */
export const ARCHS = ['reference', 'dcgan', 'dcgan64'] as const;
export type Arch = (typeof ARCHS)[number];

/** The image sides each family is built for (the first is its default). */
export const ARCH_SIZES: Record<Arch, readonly number[]> = { reference: [28, 32], dcgan: [64, 32, 128, 256], dcgan64: [64] };

/** pytorch/examples' family (dcgan, or dcgan64): widths from ngf and ndf, its weights_init. */
export const isDcgan = (arch: Arch): boolean => arch !== 'reference';

/** What a family starts with unless told otherwise: its first image size, and its reference's init (pytorch/examples' weights_init for dcgan). */
export function archDefaults(arch: Arch): { size: number; init: InitScheme } {
  return { size: ARCH_SIZES[arch][0]!, init: isDcgan(arch) ? 'dcgan' : 'pytorch' };
}

/** Stride-2 blocks of a dcgan between its 4x4 start and its last layer: 3 at 64, one more per doubling. */
const dcganBlocks = (size: number) => Math.log2(size) - 3;

/** Everything that fixes a model pair's tensors: what a checkpoint's shapes follow from. */
export interface ModelSpec {
  arch: Arch;
  /** Image channels (1 grey, 3 RGB). */
  channels: number;
  /** Image side in pixels (square images). */
  size: number;
  latentDim: number;
  /** G's and D's base widths (dcgan only; the reference's are fixed at 128/64 and 64/128). */
  ngf: number;
  ndf: number;
  /** Classes of a conditional pair; 0: unconditional. */
  classes: number;
}

export const REFERENCE_SPEC: ModelSpec = { arch: 'reference', channels: 1, size: 28, latentDim: LATENT_DIM, ngf: 64, ndf: 64, classes: 0 };

/** A spec with the reference's values where `s` is silent, checked (sizes per family, positive widths). */
export function modelSpec(s: Partial<ModelSpec> = {}): ModelSpec {
  const spec = { ...REFERENCE_SPEC, ...s };
  if (!ARCHS.includes(spec.arch)) throw new Error(`arch: expected one of ${ARCHS.join(', ')}, found "${spec.arch}"`);
  if (!ARCH_SIZES[spec.arch].includes(spec.size)) {
    const sizes = [...ARCH_SIZES[spec.arch]].sort((a, b) => a - b);
    const listed = sizes.length > 1 ? `${sizes.slice(0, -1).join(', ')} or ${sizes.at(-1)}` : String(sizes[0]);
    throw new Error(`image size: the ${spec.arch} model is built for ${listed} pixels, found ${spec.size}`);
  }
  for (const k of ['channels', 'latentDim', 'ngf', 'ndf'] as const) {
    if (!Number.isInteger(spec[k]) || spec[k] < 1) throw new Error(`${k}: expected a positive integer, found ${spec[k]}`);
  }
  return spec;
}

/** One image, [C, H, W]. */
export function imageShape(s: Partial<ModelSpec> = {}): [number, number, number] {
  const { channels, size } = modelSpec(s);
  return [channels, size, size];
}

export function generator(s: Partial<ModelSpec> = {}): Sequential {
  const { arch, channels: nc, size, latentDim, ngf, classes } = modelSpec(s);
  const nz = latentDim + classes;
  if (isDcgan(arch)) {
    // At 64, pytorch/examples' layers and indices (main.0 ... main.13); G's width halves from
    // ngf * size / 8 at 4x4 to ngf before the last layer.
    const first = (ngf * size) / 8;
    const blocks = Array.from({ length: dcganBlocks(size) }, (_, i) => first / 2 ** i);
    return new Sequential('generator', [
      new Unflatten([nz, 1, 1], false), // z [N, nz] seen as [N, nz, 1, 1] (unnumbered)
      new ConvTranspose2d(nz, first, 4, 1, 0, false), new BatchNorm2d(first), ReLU(), // 4x4
      ...blocks.flatMap((w) => [new ConvTranspose2d(w, w / 2, 4, 2, 1, false), new BatchNorm2d(w / 2), ReLU()]), // each doubles H and W
      new ConvTranspose2d(ngf, nc, 4, 2, 1, false), // size x size
      Tanh(),
    ], 'main.', [nz]);
  }
  const s4 = size / 4;
  return new Sequential('generator', [
    new Linear(nz, 128 * s4 * s4), // 0
    new BatchNorm1d(128 * s4 * s4), // 1
    ReLU(), // 2
    new Unflatten([128, s4, s4]), // 3
    new ConvTranspose2d(128, 64, 4, 2, 1), // 4
    new BatchNorm2d(64), // 5
    ReLU(), // 6
    new ConvTranspose2d(64, nc, 4, 2, 1), // 7
    Tanh(), // 8
  ], 'model.', [nz]);
}

/** How D is built beyond its shape (train's --loss, --spectral-norm, --d-norm). */
export interface DiscriminatorOptions {
  /** false leaves D's last layer off, for a loss on D's logit (and every conditional head). */
  sigmoid?: boolean;
  /** Each Conv2d and Linear wrapped in SpectralNorm (its weight `weight_orig`, with `weight_u` and `weight_v`), as torch.nn.utils.spectral_norm wraps them. */
  spectralNorm?: boolean;
  /** none: an Identity in each BatchNorm2d's place (SNGAN's D), keeping the other layers' indices. */
  norm?: DNorm;
}

export function discriminator(s: Partial<ModelSpec> = {}, { sigmoid = true, spectralNorm = false, norm = 'batch' }: DiscriminatorOptions = {}): Sequential {
  const { arch, channels: nc, size, ndf, classes } = modelSpec(s);
  const keepSigmoid = sigmoid && classes === 0;
  const sn = (l: Conv2d | Linear) => (spectralNorm ? new SpectralNorm(l) : l);
  const bn = (c: number) => (norm === 'batch' ? new BatchNorm2d(c) : new Identity());
  const conv = (i: number, o: number, k: number, st: number, p: number, bias = true) => sn(new Conv2d(i, o, k, st, p, bias));
  const linear = (i: number, o: number) => sn(new Linear(i, o));
  if (isDcgan(arch)) {
    // G's mirror: ndf after the first layer, doubling per block to ndf * size / 8 at 4x4.
    const blocks = Array.from({ length: dcganBlocks(size) }, (_, i) => ndf * 2 ** i);
    return new Sequential('discriminator', [
      conv(nc, ndf, 4, 2, 1, false), LeakyReLU(0.2), // size / 2
      ...blocks.flatMap((w) => [conv(w, w * 2, 4, 2, 1, false), bn(w * 2), LeakyReLU(0.2)]), // each halves H and W
      conv((ndf * size) / 8, 1 + classes, 4, 1, 0, false), // 1x1
      ...(keepSigmoid ? [Sigmoid()] : []),
      // A conditional head reads [N, 1 + classes], as the twin's forward views main's output (unnumbered).
      ...(classes > 0 ? [new Flatten(false)] : []),
    ], 'main.', [nc, size, size]);
  }
  const s4 = size / 4;
  const layers = [
    conv(nc, 64, 4, 2, 1), // 0
    LeakyReLU(0.2), // 1
    conv(64, 128, 4, 2, 1), // 2
    bn(128), // 3
    LeakyReLU(0.2), // 4
    new Flatten(), // 5
    linear(128 * s4 * s4, 1 + classes), // 6
    Sigmoid(), // 7
  ];
  return new Sequential('discriminator', keepSigmoid ? layers : layers.slice(0, -1), 'model.', [nc, size, size]);
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
  for (const layer of model.walk()) {
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
