/**
 * The evaluator's MNIST classifier, built from the same layers and kernels as the GAN and trained
 * by the same machinery (GPU-resident data set, Adam over an arena, one submit per step):
 *
 *   Conv2d(1, 32, 4, 2, 1) -> LeakyReLU(0.2) -> Conv2d(32, 64, 4, 2, 1) -> BatchNorm2d(64)
 *   -> LeakyReLU(0.2) -> Flatten -> Linear(3136, 64) -> LeakyReLU(0.2) -> Linear(64, 10)
 *
 * Its 64 penultimate activations (after the hidden Linear's LeakyReLU) are the features the
 * Fréchet distance compares; its softmax gives class histograms and confidence.
 */
import { Adam } from '../backprop/adam.js';
import { softmaxCrossEntropy } from '../backprop/loss.js';
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { LeakyReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { convPathFor } from '../layers/conv-base.js';
import { Conv2d } from '../layers/conv2d.js';
import { PlanBuilder } from '../layers/plan.js';
import { Linear } from '../layers/linear.js';
import { Flatten } from '../layers/reshape.js';
import { Sequential } from '../layers/sequential.js';
import { GpuDataset } from '../data/dataset.js';
import type { ImageSet } from '../data/idx.js';
import { epochOrder } from '../data/shuffle.js';
import { expectedModelTensors, loadStateDict, parseChecked } from '../model/state-dict.js';
import { tensorValues, type SafeTensor } from '../io/safetensors.js';
import type { Reference } from './frechet.js';
import { INIT_STREAMS, initialValues, loadValues } from '../model/models.js';

export const CLASSES = 10;
export const FEATURES = 64;
/** Index of the layer whose output is the feature vector. */
const FEATURE_LAYER = 7;

export function classifier(): Sequential {
  return new Sequential('classifier', [
    new Conv2d(1, 32, 4, 2, 1), // 0
    LeakyReLU(0.2), // 1
    new Conv2d(32, 64, 4, 2, 1), // 2
    new BatchNorm2d(64), // 3
    LeakyReLU(0.2), // 4
    new Flatten(), // 5
    new Linear(64 * 7 * 7, FEATURES), // 6
    LeakyReLU(0.2), // 7
    new Linear(FEATURES, CLASSES), // 8
  ]);
}

/** Eval-mode classification of a fixed input tensor [n, 1, 28, 28]: its features and logits. */
export class ClassifierPass {
  private constructor(
    readonly dispatches: Dispatch[],
    readonly features: Tensor,
    readonly logits: Tensor,
  ) {}

  static async create(gpu: Gpu, model: Sequential, input: Tensor): Promise<ClassifierPass> {
    const plan = new PlanBuilder(gpu, { conv: convPathFor(gpu) });
    const saved = await model.forward(plan, input, { training: false });
    const { y } = saved;
    return new ClassifierPass(plan.dispatches, saved.tape[FEATURE_LAYER]!.y, y);
  }
}

export interface ClassifierTraining {
  epochs: number;
  batchSize: number;
  /** Adam's learning rate in the first epoch, multiplied by `lrDecay` after each. */
  lr: number;
  lrDecay: number;
  seed: number;
}

export const CLASSIFIER_TRAINING: ClassifierTraining = { epochs: 5, batchSize: 64, lr: 1e-3, lrDecay: 0.5, seed: 0 };

/**
 * Trains a fresh classifier on `train` (seeded shuffle each epoch, full batches only), reporting
 * the mean loss and accuracy of each epoch through `log`. Returns the model on the GPU.
 */
export async function trainClassifier(gpu: Gpu, train: ImageSet, o: ClassifierTraining, log: (line: string) => void = () => {}): Promise<Sequential> {
  const model = classifier().allocate(gpu);
  loadValues(gpu, model, initialValues(model, o.seed, 'pytorch', INIT_STREAMS.discriminator));
  const adam = await Adam.create(gpu, model.params, { lr: o.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  const data = await GpuDataset.create(gpu, train, { batchSize: o.batchSize, seed: o.seed });
  const labels = gpu.tensor('classifier labels', [o.batchSize]);
  const plan = new PlanBuilder(gpu, { conv: convPathFor(gpu) });
  plan.add(data.gather);
  const saved = await model.forward(plan, data.batch, { training: true });
  const { y } = saved;
  const loss = await softmaxCrossEntropy(plan, y, labels, 'classifier loss');
  await model.backward(plan, saved, loss.grad, { needDx: false, accumulate: false, paramGrads: true });
  plan.add(adam.dispatch);

  const batches = Math.floor(train.count / o.batchSize);
  const batchLabels = new Float32Array(o.batchSize);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const lrScale = o.lrDecay ** epoch;
    const order = epochOrder(train.count, o.seed, epoch);
    data.setEpoch(epoch);
    const start = performance.now();
    let sum = [0, 0];
    for (let b = 0; b < batches; b++) {
      data.setBatch(b);
      for (let i = 0; i < o.batchSize; i++) batchLabels[i] = train.labels[order[b * o.batchSize + i]!]!;
      gpu.writeState(labels.buffer, labels.offset, batchLabels);
      adam.nextStep(o.lr * lrScale);
      gpu.run(plan.dispatches, 'classifier step');
      // Losses are read every 50 steps only: a readback per step would serialise the GPU.
      if (b % 50 === 49 || b === batches - 1) {
        const s = (await gpu.read(loss.stats)) as Float32Array;
        sum = [sum[0]! + s[0]!, sum[1]! + s[1]!];
      }
    }
    const reads = Math.ceil(batches / 50);
    log(`epoch ${epoch + 1}/${o.epochs} (lr ${(o.lr * lrScale).toPrecision(3)}): loss ${(sum[0]! / reads).toFixed(4)}, train accuracy ${((100 * sum[1]!) / reads).toFixed(2)}% (sampled) in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  }
  data.destroy();
  return model;
}

/** Features [n, FEATURES] and class probabilities [n, CLASSES] of a whole image set, in eval mode. */
export async function classifyImageSet(gpu: Gpu, model: Sequential, set: ImageSet, batch = 500): Promise<{ features: Float32Array; probs: Float32Array; n: number }> {
  const data = await GpuDataset.create(gpu, set, { batchSize: batch, seed: 0 });
  data.setOrder(Uint32Array.from({ length: set.count }, (_, i) => i));
  const pass = await ClassifierPass.create(gpu, model, data.batch);
  const n = Math.floor(set.count / batch) * batch;
  const out = { features: new Float32Array(n * FEATURES), probs: new Float32Array(n * CLASSES), n };
  for (let b = 0; b * batch < n; b++) {
    data.setBatch(b);
    gpu.run([data.gather, ...pass.dispatches], 'classify');
    out.features.set((await gpu.read(pass.features)) as Float32Array, b * batch * FEATURES);
    out.probs.set(softmax((await gpu.read(pass.logits)) as Float32Array), b * batch * CLASSES);
  }
  data.destroy();
  return out;
}

/** Row-wise softmax of [n, CLASSES] logits (on the host: 10 values per image). */
export function softmax(logits: Float32Array): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length; r += CLASSES) {
    let m = -Infinity;
    for (let j = 0; j < CLASSES; j++) m = Math.max(m, logits[r + j]!);
    let s = 0;
    for (let j = 0; j < CLASSES; j++) s += Math.exp(logits[r + j]! - m);
    for (let j = 0; j < CLASSES; j++) out[r + j] = Math.exp(logits[r + j]! - m) / s;
  }
  return out;
}

/** The predicted class of row `i` of [n, CLASSES] scores (the first maximum wins, as torch.argmax). */
export function predictedClass(scores: Float32Array, i: number): number {
  let best = 0;
  for (let j = 1; j < CLASSES; j++) if (scores[i * CLASSES + j]! > scores[i * CLASSES + best]!) best = j;
  return best;
}

/** Accuracy of class probabilities against labels. */
export function accuracy(probs: Float32Array, labels: Uint8Array, n: number): number {
  let correct = 0;
  for (let i = 0; i < n; i++) if (predictedClass(probs, i) === labels[i]) correct++;
  return correct / n;
}

/**
 * The classifier file: its weights (state_dict keys) plus the MNIST test set's feature
 * statistics and the real-data floor, computed once when it was trained (they depend only on the
 * weights and MNIST), so `eval` only runs the samples through it.
 */
export interface ClassifierFile {
  model: Sequential;
  reference: Reference;
  metadata: Record<string, string>;
}

const REFERENCE_KEYS = { mean: 'reference.test_mean', cov: 'reference.test_cov' } as const;

export function classifierTensors(ref: Reference): Map<string, SafeTensor> {
  const f64 = (shape: number[], v: Float64Array): SafeTensor => ({ dtype: 'F64', shape, bytes: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) });
  return new Map([
    [REFERENCE_KEYS.mean, f64([ref.test.dim], ref.test.mean)],
    [REFERENCE_KEYS.cov, f64([ref.test.dim, ref.test.dim], ref.test.cov)],
  ]);
}

/** Builds the classifier and its reference statistics from the file's bytes, checking every tensor and field. */
export function classifierFromBytes(gpu: Gpu, bytes: Uint8Array, file: string): ClassifierFile {
  const model = classifier().allocate(gpu);
  const expected = expectedModelTensors(model);
  expected.set(REFERENCE_KEYS.mean, { shape: [FEATURES], dtype: 'F64' });
  expected.set(REFERENCE_KEYS.cov, { shape: [FEATURES, FEATURES], dtype: 'F64' });
  const parsed = parseChecked(bytes, file, expected);
  const m = parsed.metadata;
  const num = (k: string) => {
    const v = Number(m[k]);
    if (m[k] === undefined || !Number.isFinite(v) || v < 0) throw new Error(`${file}: metadata "${k}": expected a non-negative number, found ${m[k] === undefined ? 'nothing' : JSON.stringify(m[k])}`);
    return v;
  };
  const reference: Reference = {
    test: {
      n: num('test_images'),
      dim: FEATURES,
      mean: tensorValues(parsed.tensors.get(REFERENCE_KEYS.mean)!) as Float64Array,
      cov: tensorValues(parsed.tensors.get(REFERENCE_KEYS.cov)!) as Float64Array,
    },
    floor: num('fd_floor'),
    floorImages: num('fd_floor_images'),
  };
  const weights = new Map([...parsed.tensors].filter(([k]) => !k.startsWith('reference.')));
  loadStateDict(gpu, model, weights);
  return { model, reference, metadata: m };
}
