/** The committed classifier file on disk (Node): where it is, and loading it. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Gpu } from '../gpu/gpu.js';
import type { KernelRoute } from '../layers/plan.js';
import { MNIST_EVALUATOR, TEST_LABELS, classMismatch, classifierFromBytes, specOf, type ClassifierFile, type EvaluatorInfo } from './classifier.js';
import { classReferenceOf, classTestStats, type ClassReference } from './evaluate.js';
import { loadImageSet } from '../data/files.js';
import { parseSafetensors } from '../io/safetensors.js';

/** The committed classifier weights (src/eval and dist/eval both sit two levels below the package root). */
export const CLASSIFIER_PATH = fileURLToPath(new URL('../../models/mnist-classifier.safetensors', import.meta.url));

/** The classifier and the test-set reference stored with it, ready to score generators. */
export function loadEvaluator(gpu: Gpu, file = CLASSIFIER_PATH): ClassifierFile {
  if (!existsSync(file)) throw new Error(`${file} not found: the evaluator's classifier weights (npm run train:classifier writes them)`);
  return classifierFromBytes(gpu, new Uint8Array(readFileSync(file)), file);
}

/** What an evaluator file says about itself, from its header alone (checked before a run starts). */
export function evaluatorInfoOf(file = CLASSIFIER_PATH): EvaluatorInfo {
  if (!existsSync(file)) throw new Error(`${file} not found: an evaluator's classifier file (train-classifier writes one)`);
  const { metadata, tensors } = parseSafetensors(new Uint8Array(readFileSync(file)), file);
  return { spec: specOf(metadata, file), metadata, testLabels: tensors.has(TEST_LABELS) };
}

/**
 * A conditional generator's per-class yardstick: MNIST's test digits through the MNIST classifier
 * (equal shares), or the test features and labels an evaluator of a folder's classes keeps (their
 * shares). `evaluator` names the file in errors; `route`: the kernels MNIST's digits run through.
 */
export async function classReferenceFor(gpu: Gpu, file: ClassifierFile, classNames: readonly string[], evaluator: string, route: KernelRoute = {}): Promise<ClassReference> {
  const why = classMismatch({ ...file, testLabels: file.reference.testLabels !== undefined }, classNames, evaluator);
  if (why) throw new Error(why);
  if (file.spec === MNIST_EVALUATOR) return classTestStats(gpu, file.model, loadImageSet('mnist', 'test'), route);
  return classReferenceOf({ testFeatures: file.reference.testFeatures!, testLabels: file.reference.testLabels! }, file.spec.classes);
}
