/**
 * Sample quality of a generator, measured with the evaluator's classifier: class histogram of n
 * samples, mean classifier confidence (max softmax probability), max/min class ratio, and the
 * Fréchet distance (and, where the evaluator keeps the test features, KID) of the classifier's
 * features against its test images, beside the floor that real training images score.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Sequential } from '../layers/sequential.js';
import type { ImageSet } from '../data/idx.js';
import { Sampler } from '../model/sample.js';
import { ClassifierPass, FEATURES, classesOf, classifyImageSet, predictedClass, softmax } from './classifier.js';
import { kernelDistance, type Kid } from './kid.js';
import { covarianceTrace, featureStats, frechetDistance, type FeatureStats, type Reference } from './frechet.js';

export type { Reference } from './frechet.js';

export interface Quality {
  /** Samples scored. */
  n: number;
  /** Fréchet distance of the samples' features to the test images'. */
  fd: number;
  /** KID of the samples' features against the test images' (where the evaluator keeps them). */
  kid?: Kid;
  /** The samples' feature spread (trace of the covariance) over the test images': near 0 when G collapses. */
  spread: number;
  /** Samples per class (argmax of the classifier). */
  histogram: number[];
  /** Mean of the classifier's top probability. */
  confidence: number;
  /** Most common class count over the rarest (Infinity when a class is missing). */
  maxMinRatio: number;
  /** Classes below a third of the fair share n / 10 (mode dropping). */
  rareClasses: number[];
  /** A conditional generator's scores (its samples class-balanced: sample i asked for class i mod 10). */
  conditional?: ConditionalQuality;
}

export interface ConditionalQuality {
  /** The share of samples the classifier names as the class they were asked to be. */
  accuracy: number;
  /** That share per asked class. */
  perClassAccuracy: number[];
  /** FD of each asked class's samples against the test images of that class. */
  perClassFd: number[];
}

/** Feature statistics of the test set's images of each class (per-class FD of a conditional generator). */
export async function classTestStats(gpu: Gpu, classifier: Sequential, test: ImageSet): Promise<FeatureStats[]> {
  const t = await classifyImageSet(gpu, classifier, test);
  return Array.from({ length: classesOf(classifier) }, (_, k) => {
    const rows: number[] = [];
    for (let i = 0; i < t.n; i++) if (test.labels[i] === k) rows.push(i);
    const f = new Float32Array(rows.length * FEATURES);
    rows.forEach((r, j) => f.set(t.features.subarray(r * FEATURES, (r + 1) * FEATURES), j * FEATURES));
    return featureStats(f, rows.length, FEATURES);
  });
}

/** The yardstick the samples are measured against: test-set feature statistics, and real data's own score. */

/** `kid`: also keep the test features and score the floor's KID (evaluators for other data than MNIST). */
export async function referenceStats(gpu: Gpu, classifier: Sequential, test: ImageSet, train: ImageSet, floorImages = 10_000, kid = false): Promise<Reference> {
  const t = await classifyImageSet(gpu, classifier, test);
  const count = Math.min(floorImages, train.count);
  const px = train.channels * train.height * train.width;
  const subset: ImageSet = { ...train, count, pixels: train.pixels.subarray(0, count * px), labels: train.labels.subarray(0, count) };
  const r = await classifyImageSet(gpu, classifier, subset);
  const testStats = featureStats(t.features, t.n, FEATURES);
  const floor = frechetDistance(featureStats(r.features, r.n, FEATURES), testStats);
  if (!kid) return { test: testStats, floor, floorImages: r.n };
  const k = kernelDistance(r.features, r.n, t.features, t.n, FEATURES);
  return { test: testStats, floor, floorImages: r.n, testFeatures: t.features, kidFloor: { kid: k.kid, standardError: k.standardError } };
}

/**
 * Scores G's samples, built once and reused (in-run metrics): n samples in eval mode from the
 * noise of a seed; images never leave the GPU, only the classifier's features and logits.
 */
export class GeneratorEvaluator {
  private constructor(
    private readonly gpu: Gpu,
    private readonly sampler: Sampler,
    private readonly pass: ClassifierPass,
    readonly reference: Reference,
    /** A conditional G's per-class test statistics (classTestStats); null: unconditional. */
    private readonly perClassTest: FeatureStats[] | null,
    /** The classifier's classes. */
    private readonly classes: number,
  ) {}

  /** `perClassTest`: G is conditional on the classifier's 10 classes (classTestStats of the test set). */
  static async create(gpu: Gpu, G: Sequential, classifier: Sequential, reference: Reference, n: number, perClassTest: FeatureStats[] | null = null): Promise<GeneratorEvaluator> {
    const classes = classesOf(classifier);
    if (reference.testFeatures && n < 4) throw new Error(`eval: KID needs at least 4 samples (two blocks of two), found ${n}`);
    if (perClassTest && n < 2 * classes) throw new Error(`eval: a conditional generator needs at least ${2 * classes} samples (2 per class), found ${n}`);
    const sampler = await Sampler.create(gpu, G, n, undefined, perClassTest ? classes : 0);
    return new GeneratorEvaluator(gpu, sampler, await ClassifierPass.create(gpu, classifier, sampler.out), reference, perClassTest, classes);
  }

  /** G's current weights, scored. */
  async evaluate(seed: number): Promise<Quality> {
    const { gpu, pass } = this;
    const n = this.sampler.n;
    const classes = this.classes;
    const features = new Float32Array(n * FEATURES);
    const histogram = new Array<number>(classes).fill(0);
    let confidence = 0;
    const asked = this.perClassTest ? Array.from({ length: n }, (_, i) => i % classes) : undefined;
    const hits = new Array<number>(classes).fill(0);
    await this.sampler.eachBatch(seed, pass.dispatches, async (first, count) => {
      features.set(((await gpu.read(pass.features)) as Float32Array).subarray(0, count * FEATURES), first * FEATURES);
      const probs = softmax(((await gpu.read(pass.logits)) as Float32Array).subarray(0, count * classes), classes);
      for (let i = 0; i < count; i++) {
        const best = predictedClass(probs, i, classes);
        histogram[best]!++;
        confidence += probs[i * classes + best]!;
        if (asked && asked[first + i] === best) hits[best]!++;
      }
    }, asked);
    const fair = n / classes;
    let conditional: ConditionalQuality | undefined;
    if (asked) {
      const perClass = Array.from({ length: classes }, (_, k) => asked.filter((a) => a === k).length);
      const perClassFd = perClass.map((count, k) => {
        const f = new Float32Array(count * FEATURES);
        for (let i = k, j = 0; i < n; i += classes, j++) f.set(features.subarray(i * FEATURES, (i + 1) * FEATURES), j * FEATURES);
        return frechetDistance(featureStats(f, count, FEATURES), this.perClassTest![k]!);
      });
      conditional = { accuracy: hits.reduce((a, b) => a + b, 0) / n, perClassAccuracy: hits.map((h, k) => h / perClass[k]!), perClassFd };
    }
    const stats = featureStats(features, n, FEATURES);
    const test = this.reference.test;
    return {
      ...(conditional ? { conditional } : {}),
      n,
      fd: frechetDistance(stats, test),
      spread: covarianceTrace(stats.cov, FEATURES) / covarianceTrace(test.cov, FEATURES),
      ...(this.reference.testFeatures ? { kid: kernelDistance(features, n, this.reference.testFeatures, this.reference.test.n, FEATURES) } : {}),
      histogram,
      confidence: confidence / n,
      maxMinRatio: Math.max(...histogram) / Math.min(...histogram),
      rareClasses: histogram.flatMap((c, k) => (c < fair / 3 ? [k] : [])),
    };
  }
}

/** Scores n samples of G once (`perClassTest`: G is conditional, see GeneratorEvaluator.create). */
export async function evaluateGenerator(gpu: Gpu, G: Sequential, classifier: Sequential, ref: Reference, n: number, seed: number, perClassTest: FeatureStats[] | null = null): Promise<Quality> {
  return (await GeneratorEvaluator.create(gpu, G, classifier, ref, n, perClassTest)).evaluate(seed);
}
