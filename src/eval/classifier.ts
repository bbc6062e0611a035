/**
 * The evaluator's classifier, built from the same layers and kernels as the GAN and trained by
 * the same machinery (GPU-resident data set, Adam over an arena, one submit per step). For MNIST:
 *
 *   Conv2d(1, 32, 4, 2, 1) -> LeakyReLU(0.2) -> Conv2d(32, 64, 4, 2, 1) -> BatchNorm2d(64)
 *   -> LeakyReLU(0.2) -> Flatten -> Linear(3136, 64) -> LeakyReLU(0.2) -> Linear(64, 10)
 *
 * For other data the same network at the data's channels and classes, with one more
 * Conv2d(64, 64, 4, 2, 1) -> BatchNorm2d -> LeakyReLU block per halving until the map is at
 * most 8x8 (EvaluatorSpec). Its 64 penultimate activations (after the hidden Linear's LeakyReLU)
 * are the features FD and KID compare; its softmax gives class histograms and confidence.
 */
import { DIGITS } from '../data/classes.js';
import { metadataClassNames } from '../model/sample.js';
import { Adam } from '../backprop/adam.js';
import { softmaxCrossEntropy } from '../backprop/loss.js';
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { LeakyReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { planRoute } from '../layers/conv-route.js';
import { Conv2d } from '../layers/conv2d.js';
import { PlanBuilder, type KernelRoute } from '../layers/plan.js';
import { Linear } from '../layers/linear.js';
import { Flatten } from '../layers/reshape.js';
import { Sequential } from '../layers/sequential.js';
import { GpuDataset } from '../data/dataset.js';
import type { ImageSet } from '../data/idx.js';
import { epochOrder } from '../data/shuffle.js';
import { checkTensors, expectedModelTensors, loadStateDict } from '../model/state-dict.js';
import { parseSafetensors, tensorValues, type SafeTensor } from '../io/safetensors.js';
import type { Reference } from './frechet.js';
import { INIT_STREAMS, initialValues, loadValues } from '../model/models.js';

/**
 * What an evaluator's network sees and predicts: images of `channels` x `size` x `size` and
 * `classes` outputs. `task`: `classes`, the data's own class folders; `rotation`, which of four
 * rotations (0, 90, 180, 270 degrees) was applied, for a folder without classes (self-supervised
 * features, Gidaris et al. 2018).
 */
export interface EvaluatorSpec {
  channels: number;
  size: number;
  classes: number;
  task: 'classes' | 'rotation';
}

/** The MNIST digits: the committed evaluator's classes. */
export const CLASSES = 10;
/** Features per image: the hidden Linear's outputs, for every evaluator. */
export const FEATURES = 64;
export const MNIST_EVALUATOR: EvaluatorSpec = { channels: 1, size: 28, classes: CLASSES, task: 'classes' };

export function classifier(spec: EvaluatorSpec = MNIST_EVALUATOR): Sequential {
  const { channels, size, classes } = spec;
  if (!Number.isInteger(size) || size < 8 || size % 4 !== 0) throw new Error(`evaluator: the image side must be a multiple of 4 from 8 up, found ${size}`);
  if (!Number.isInteger(classes) || classes < 2) throw new Error(`evaluator: at least 2 classes are needed, found ${classes}`);
  let side = size / 4;
  const halvings = [];
  for (; side > 8 && side % 2 === 0; side /= 2) halvings.push(new Conv2d(64, 64, 4, 2, 1), new BatchNorm2d(64), LeakyReLU(0.2));
  return new Sequential('classifier', [
    new Conv2d(channels, 32, 4, 2, 1),
    LeakyReLU(0.2),
    new Conv2d(32, 64, 4, 2, 1),
    new BatchNorm2d(64),
    LeakyReLU(0.2),
    ...halvings,
    new Flatten(),
    new Linear(64 * side * side, FEATURES),
    LeakyReLU(0.2), // its output: the features
    new Linear(FEATURES, classes),
  ]);
}

/** A classifier's number of classes (its last Linear's outputs). */
export function classesOf(model: Sequential): number {
  return (model.layers.at(-1) as Linear).outFeatures;
}

/** Eval-mode classification of a fixed input tensor [n, C, H, W]: its features and logits. */
export class ClassifierPass {
  private constructor(
    readonly dispatches: Dispatch[],
    readonly features: Tensor,
    readonly logits: Tensor,
  ) {}

  static async create(gpu: Gpu, model: Sequential, input: Tensor, route: KernelRoute = {}): Promise<ClassifierPass> {
    const plan = new PlanBuilder(gpu, planRoute(gpu, route));
    const saved = await model.forward(plan, input, { training: false });
    const { y } = saved;
    // The features: the output of the LeakyReLU before the last Linear.
    return new ClassifierPass(plan.dispatches, saved.tape[model.layers.length - 2]!.y, y);
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
export async function trainClassifier(gpu: Gpu, train: ImageSet, o: ClassifierTraining, log: (line: string) => void = () => {}, spec: EvaluatorSpec = MNIST_EVALUATOR, route: KernelRoute = {}): Promise<Sequential> {
  const model = classifier(spec).allocate(gpu);
  loadValues(gpu, model, initialValues(model, o.seed, 'pytorch', INIT_STREAMS.discriminator));
  const adam = await Adam.create(gpu, model.params, { lr: o.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  const data = await GpuDataset.create(gpu, train, { batchSize: o.batchSize, seed: o.seed });
  const labels = gpu.tensor('classifier labels', [o.batchSize]);
  const plan = new PlanBuilder(gpu, planRoute(gpu, route));
  plan.add(data.gather);
  const saved = await model.forward(plan, data.batch, { training: true });
  const { y } = saved;
  const loss = await softmaxCrossEntropy(plan, y, labels, 'classifier loss');
  await model.backward(plan, saved, loss.grad, { needDx: false, accumulate: false, paramGrads: true });
  for (const d of adam.dispatches) plan.add(d);

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

/** Features [n, FEATURES] and class probabilities [n, classes] of a whole image set (n = its count), in eval mode. */
export async function classifyImageSet(gpu: Gpu, model: Sequential, set: ImageSet, { maxBatch = 500, route = {} }: { maxBatch?: number; route?: KernelRoute } = {}): Promise<{ features: Float32Array; probs: Float32Array; n: number }> {
  const batch = Math.min(maxBatch, set.count);
  const classes = classesOf(model);
  const data = await GpuDataset.create(gpu, set, { batchSize: batch, seed: 0 });
  data.setOrder(Uint32Array.from({ length: set.count }, (_, i) => i));
  // A pass per batch size: the full one, and the short last batch's rows (eval mode: rows are independent).
  const passes = new Map<number, ClassifierPass>([[batch, await ClassifierPass.create(gpu, model, data.batch, route)]]);
  const n = set.count;
  const out = { features: new Float32Array(n * FEATURES), probs: new Float32Array(n * classes), n };
  for (let b = 0; b * batch < n; b++) {
    const size = data.setBatch(b);
    let pass = passes.get(size);
    if (!pass) passes.set(size, (pass = await ClassifierPass.create(gpu, model, data.batch.rows(size), route)));
    gpu.run([data.gather, ...pass.dispatches], 'classify');
    out.features.set((await gpu.read(pass.features)) as Float32Array, b * batch * FEATURES);
    out.probs.set(softmax((await gpu.read(pass.logits)) as Float32Array, classes), b * batch * classes);
  }
  data.destroy();
  return out;
}

/** Row-wise softmax of [n, classes] logits (on the host: a few values per image). */
export function softmax(logits: Float32Array, classes = CLASSES): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length; r += classes) {
    let m = -Infinity;
    for (let j = 0; j < classes; j++) m = Math.max(m, logits[r + j]!);
    let s = 0;
    for (let j = 0; j < classes; j++) s += Math.exp(logits[r + j]! - m);
    for (let j = 0; j < classes; j++) out[r + j] = Math.exp(logits[r + j]! - m) / s;
  }
  return out;
}

/** The predicted class of row `i` of [n, classes] scores (the first maximum wins, as torch.argmax). */
export function predictedClass(scores: Float32Array, i: number, classes = CLASSES): number {
  let best = 0;
  for (let j = 1; j < classes; j++) if (scores[i * classes + j]! > scores[i * classes + best]!) best = j;
  return best;
}

/** Accuracy of class probabilities [n, classes] against labels. */
export function accuracy(probs: Float32Array, labels: Uint8Array, n: number, classes = CLASSES): number {
  let correct = 0;
  for (let i = 0; i < n; i++) if (predictedClass(probs, i, classes) === labels[i]) correct++;
  return correct / n;
}

/**
 * The classifier file: its weights (state_dict keys) plus the test images' feature statistics
 * and the real-data floor, computed once when it was trained (they depend only on the weights and
 * the data), so `eval` only runs the samples through it. A file for other data than MNIST also
 * says what it sees (metadata `task`, `channels`, `size`, `classes`) and keeps the test images'
 * feature rows, for KID.
 */
export interface ClassifierFile {
  model: Sequential;
  spec: EvaluatorSpec;
  reference: Reference;
  metadata: Record<string, string>;
}

/** The tensor of an evaluator's test images' classes (per-class scores of a conditional generator). */
export const TEST_LABELS = 'reference.test_labels';
const REFERENCE_KEYS = { mean: 'reference.test_mean', cov: 'reference.test_cov', features: 'reference.test_features', labels: TEST_LABELS } as const;

export function classifierTensors(ref: Reference): Map<string, SafeTensor> {
  const bytes = (v: Float32Array | Float64Array) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const out = new Map<string, SafeTensor>([
    [REFERENCE_KEYS.mean, { dtype: 'F64', shape: [ref.test.dim], bytes: bytes(ref.test.mean) }],
    [REFERENCE_KEYS.cov, { dtype: 'F64', shape: [ref.test.dim, ref.test.dim], bytes: bytes(ref.test.cov) }],
  ]);
  if (ref.testFeatures) out.set(REFERENCE_KEYS.features, { dtype: 'F32', shape: [ref.test.n, ref.test.dim], bytes: bytes(ref.testFeatures) });
  if (ref.testLabels) out.set(REFERENCE_KEYS.labels, { dtype: 'U8', shape: [ref.test.n], bytes: ref.testLabels });
  return out;
}

/** The metadata fields that say what an evaluator sees (absent: the MNIST classifier). */
export function specMetadata(spec: EvaluatorSpec): Record<string, string> {
  return { task: spec.task, channels: String(spec.channels), size: String(spec.size), classes: String(spec.classes) };
}

/** What an evaluator file's metadata says it sees (no metadata: the MNIST classifier). */
export function specOf(m: Record<string, string>, file: string): EvaluatorSpec {
  if (m.task === undefined) return MNIST_EVALUATOR;
  if (m.task !== 'classes' && m.task !== 'rotation') throw new Error(`${file}: metadata "task": expected classes or rotation, found ${JSON.stringify(m.task)}`);
  const int = (k: string, min: number) => {
    const v = Number(m[k]);
    if (!Number.isInteger(v) || v < min) throw new Error(`${file}: metadata "${k}": expected an integer >= ${min}, found ${m[k] === undefined ? 'nothing' : JSON.stringify(m[k])}`);
    return v;
  };
  return { task: m.task, channels: int('channels', 1), size: int('size', 8), classes: int('classes', 2) };
}

/** Builds the classifier and its reference statistics from the file's bytes, checking every tensor and field. */
export function classifierFromBytes(gpu: Gpu, bytes: Uint8Array, file: string): ClassifierFile {
  const raw = parseSafetensors(bytes, file);
  const m = raw.metadata;
  const spec = specOf(m, file);
  const num = (k: string) => {
    const v = Number(m[k]);
    if (m[k] === undefined || !Number.isFinite(v) || v < 0) throw new Error(`${file}: metadata "${k}": expected a non-negative number, found ${m[k] === undefined ? 'nothing' : JSON.stringify(m[k])}`);
    return v;
  };
  const model = classifier(spec).allocate(gpu);
  const expected = expectedModelTensors(model);
  expected.set(REFERENCE_KEYS.mean, { shape: [FEATURES], dtype: 'F64' });
  expected.set(REFERENCE_KEYS.cov, { shape: [FEATURES, FEATURES], dtype: 'F64' });
  const kid = m.kid_floor !== undefined;
  if (kid) expected.set(REFERENCE_KEYS.features, { shape: [num('test_images'), FEATURES], dtype: 'F32' });
  // Evaluators of classes made before per-class scores lack the labels: they still score pooled.
  const labelled = kid && spec.task === 'classes' && raw.tensors.has(REFERENCE_KEYS.labels);
  if (labelled) expected.set(REFERENCE_KEYS.labels, { shape: [num('test_images')], dtype: 'U8' });
  const parsed = checkTensors(raw, file, expected);
  const reference: Reference = {
    test: {
      n: num('test_images'),
      dim: FEATURES,
      mean: tensorValues(parsed.tensors.get(REFERENCE_KEYS.mean)!) as Float64Array,
      cov: tensorValues(parsed.tensors.get(REFERENCE_KEYS.cov)!) as Float64Array,
    },
    floor: num('fd_floor'),
    floorImages: num('fd_floor_images'),
    ...(kid
      ? {
          testFeatures: tensorValues(parsed.tensors.get(REFERENCE_KEYS.features)!) as Float32Array,
          ...(labelled ? { testLabels: tensorValues(parsed.tensors.get(REFERENCE_KEYS.labels)!) as Uint8Array } : {}),
          kidFloor: { kid: Number(m.kid_floor), standardError: num('kid_floor_se') },
        }
      : {}),
  };
  const outside = reference.testLabels?.findIndex((l) => l >= spec.classes) ?? -1;
  if (outside >= 0) throw new Error(`${file}: tensor "${REFERENCE_KEYS.labels}"[${outside}]: expected a class 0..${spec.classes - 1}, found ${reference.testLabels![outside]}`);
  if (kid && !Number.isFinite(reference.kidFloor!.kid)) throw new Error(`${file}: metadata "kid_floor": expected a number, found ${JSON.stringify(m.kid_floor)}`);
  const weights = new Map([...parsed.tensors].filter(([k]) => !k.startsWith('reference.')));
  loadStateDict(gpu, model, weights);
  return { model, spec, reference, metadata: m };
}

/** What an evaluator file says about itself, from its header alone: enough to check it before a run starts. */
export interface EvaluatorInfo {
  spec: EvaluatorSpec;
  metadata: Record<string, string>;
  /** Whether it keeps its test images' classes (per-class scores; files from before those were kept lack them). */
  testLabels: boolean;
}

/** An evaluator's class names: its metadata's, the digits for the MNIST classifier, else null. */
function evaluatorClassNames({ spec, metadata }: EvaluatorInfo, evaluator: string): string[] | null {
  if (metadata.class_names === undefined) return spec === MNIST_EVALUATOR ? [...DIGITS] : null;
  return metadataClassNames(metadata, spec.classes, evaluator);
}

/**
 * Why an evaluator cannot give a conditional generator of `classNames` per-class scores, or null:
 * it must have learned classes (not rotations), the same names in the same order (the MNIST
 * classifier's are the digits), and keep its test images' classes.
 */
export function classMismatch(info: EvaluatorInfo, classNames: readonly string[], evaluator: string): string | null {
  if (info.spec.task !== 'classes') return `${evaluator} learned which of 4 rotations an image was turned by (its folder has no classes); per-class scores of a conditional generator need an evaluator trained on the generator's class folders (train-classifier --data DIR)`;
  if (info.spec.classes !== classNames.length) return `${evaluator} tells ${info.spec.classes} classes apart; the conditional generator draws ${classNames.length}`;
  const names = evaluatorClassNames(info, evaluator);
  if (names && names.join('\n') !== classNames.join('\n')) return `${evaluator}'s classes are ${names.join(', ')}; the conditional generator's are ${classNames.join(', ')} (the same classes, in the same order, are needed)`;
  if (info.spec !== MNIST_EVALUATOR && !info.testLabels) return `${evaluator} keeps no test labels (a train-classifier from before per-class scores made it): train it again for per-class scores`;
  return null;
}
