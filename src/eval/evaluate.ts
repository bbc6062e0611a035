/**
 * Sample quality of a generator, measured with the evaluator's classifier: class histogram of n
 * samples, mean classifier confidence (max softmax probability), max/min class ratio, and the
 * Fréchet distance (and, where the evaluator keeps the test features, KID) of the classifier's
 * features against its test images, beside the floor that real training images score.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { KernelRoute } from '../layers/plan.js';
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
  /** Classes below a third of their fair share (mode dropping): n / classes, or their share of the test images where the evaluator keeps their labels. */
  rareClasses: number[];
  /** A conditional generator's scores (its samples asked for the classes in ClassReference.counts' proportions). */
  conditional?: ConditionalQuality;
}

export interface ConditionalQuality {
  /** The share of samples the classifier names as the class they were asked to be. */
  accuracy: number;
  /** Samples asked for each class. */
  perClassSamples: number[];
  /** That share per asked class. */
  perClassAccuracy: number[];
  /** FD of each asked class's samples against the test images of that class (NaN, null in JSON, where the class has under 2 test images). */
  perClassFd: number[];
}

/**
 * What a conditional generator is measured against: each class's test-image feature statistics
 * (null where the class has under two test images) and how many samples ask for each class,
 * relatively: its share of the test images for an evaluator of a user's folder, equal shares for
 * MNIST (its classes are nearly balanced; sample i asks for digit i mod 10).
 */
export interface ClassReference {
  test: Array<FeatureStats | null>;
  counts: number[];
}

/** `features` ([labels.length, FEATURES]) grouped by class: each class's statistics. */
function statsByClass(features: Float32Array, labels: ArrayLike<number>, classes: number): Array<FeatureStats | null> {
  return Array.from({ length: classes }, (_, k) => {
    const rows: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === k) rows.push(i);
    if (rows.length < 2) return null;
    const f = new Float32Array(rows.length * FEATURES);
    rows.forEach((r, j) => f.set(features.subarray(r * FEATURES, (r + 1) * FEATURES), j * FEATURES));
    return featureStats(f, rows.length, FEATURES);
  });
}

/** MNIST's per-class yardstick: the test set's images of each digit, through the classifier; equal shares. */
export async function classTestStats(gpu: Gpu, classifier: Sequential, test: ImageSet, route: KernelRoute = {}): Promise<ClassReference> {
  const t = await classifyImageSet(gpu, classifier, test, { route });
  const classes = classesOf(classifier);
  return { test: statsByClass(t.features, test.labels.subarray(0, t.n), classes), counts: new Array<number>(classes).fill(1) };
}

/** An evaluator file's per-class yardstick from the test features and labels it keeps; shares as its test images'. */
export function classReferenceOf(ref: Required<Pick<Reference, 'testFeatures' | 'testLabels'>>, classes: number): ClassReference {
  return { test: statsByClass(ref.testFeatures, ref.testLabels, classes), counts: countsOf(ref.testLabels, classes) };
}

/** How many of `labels` are each class. */
function countsOf(labels: ArrayLike<number>, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return counts;
}

/** The fewest samples `asked` gives a class that has test images (one without is never asked for). */
function fewestAsked(asked: readonly number[], counts: readonly number[]): number {
  const given = countsOf(asked, counts.length);
  return Math.min(...counts.flatMap((c, k) => (c > 0 ? [given[k]!] : [])));
}

/**
 * The class each of n samples asks for: sample i asks for the class furthest behind its share
 * (counts[k] / total) after i samples, ties to the lowest class, so every prefix is as close to
 * the shares as whole samples allow; with equal counts, i mod classes.
 */
export function askedClasses(n: number, counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const given = new Array<number>(counts.length).fill(0);
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    // Integer deficits (counts[k] (i + 1) - given[k] total), so equal shares tie exactly.
    for (let k = 1; k < counts.length; k++) if (counts[k]! * (i + 1) - given[k]! * total > counts[best]! * (i + 1) - given[best]! * total) best = k;
    given[best]!++;
    return best;
  });
}

/** The yardstick the samples are measured against: test-set feature statistics, and real data's own score. */

/**
 * `floorImages`: training images scored for the floor; `kid`: also keep the test features and
 * score the floor's KID (evaluators for other data than MNIST); `route`: the kernels (KernelRoute).
 */
export async function referenceStats(gpu: Gpu, classifier: Sequential, test: ImageSet, train: ImageSet, { floorImages = 10_000, kid = false, route = {} }: { floorImages?: number; kid?: boolean; route?: KernelRoute } = {}): Promise<Reference> {
  const t = await classifyImageSet(gpu, classifier, test, { route });
  const count = Math.min(floorImages, train.count);
  const px = train.channels * train.height * train.width;
  const subset: ImageSet = { ...train, count, pixels: train.pixels.subarray(0, count * px), labels: train.labels.subarray(0, count) };
  const r = await classifyImageSet(gpu, classifier, subset, { route });
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
    /** A conditional G's per-class yardstick (classTestStats, classReferenceOf); null: unconditional. */
    private readonly perClass: ClassReference | null,
    /** The class each sample asks for (askedClasses of perClass.counts); null: unconditional. */
    private readonly asked: number[] | null,
    /** Each class's fair share of the samples, as a fraction: its share of the test images where the evaluator keeps their labels, else equal. */
    private readonly shares: number[],
  ) {}

  /** `perClass`: G is conditional on the classifier's classes (classTestStats, classReferenceOf); `route`: the kernels of both (KernelRoute). */
  static async create(gpu: Gpu, G: Sequential, classifier: Sequential, reference: Reference, n: number, perClass: ClassReference | null = null, route: KernelRoute = {}): Promise<GeneratorEvaluator> {
    const classes = classesOf(classifier);
    if (reference.testFeatures && n < 4) throw new Error(`eval: KID needs at least 4 samples (two blocks of two), found ${n}`);
    const asked = perClass ? askedClasses(n, perClass.counts) : null;
    if (perClass && fewestAsked(asked!, perClass.counts) < 2) {
      let needed = n;
      while (fewestAsked(askedClasses(needed, perClass.counts), perClass.counts) < 2) needed++;
      throw new Error(`eval: a conditional generator needs at least 2 samples of each class; with these classes' shares that takes ${needed} samples, found ${n}`);
    }
    const counts = reference.testLabels ? countsOf(reference.testLabels, classes) : new Array<number>(classes).fill(1);
    const total = counts.reduce((a, b) => a + b, 0);
    const sampler = await Sampler.create(gpu, G, n, undefined, perClass ? classes : 0, route);
    return new GeneratorEvaluator(gpu, sampler, await ClassifierPass.create(gpu, classifier, sampler.out, route), reference, perClass, asked, counts.map((c) => c / total));
  }

  /** G's current weights, scored. */
  async evaluate(seed: number): Promise<Quality> {
    const { gpu, pass } = this;
    const n = this.sampler.n;
    const classes = this.shares.length;
    const features = new Float32Array(n * FEATURES);
    const histogram = new Array<number>(classes).fill(0);
    let confidence = 0;
    const asked = this.asked ?? undefined;
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
    let conditional: ConditionalQuality | undefined;
    if (asked) {
      const perClass = countsOf(asked, classes);
      const sampleStats = statsByClass(features, asked, classes);
      const perClassFd = this.perClass!.test.map((test, k) => (test ? frechetDistance(sampleStats[k]!, test) : NaN));
      conditional = { accuracy: hits.reduce((a, b) => a + b, 0) / n, perClassSamples: perClass, perClassAccuracy: hits.map((h, k) => h / perClass[k]!), perClassFd };
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
      // A folder's classes need not be balanced: a class's fair share is its share of the test images.
      rareClasses: histogram.flatMap((c, k) => (c < (n * this.shares[k]!) / 3 ? [k] : [])),
    };
  }
}

/** Scores n samples of G once (`perClass`: G is conditional, see GeneratorEvaluator.create). */
export async function evaluateGenerator(gpu: Gpu, G: Sequential, classifier: Sequential, ref: Reference, n: number, seed: number, perClass: ClassReference | null = null, route: KernelRoute = {}): Promise<Quality> {
  return (await GeneratorEvaluator.create(gpu, G, classifier, ref, n, perClass, route)).evaluate(seed);
}
