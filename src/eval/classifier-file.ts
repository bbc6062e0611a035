/** The committed classifier file on disk (Node): where it is, and loading it. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Gpu } from '../gpu/gpu.js';
import { MNIST_EVALUATOR, classMismatch, classifierFromBytes, specOf, type ClassifierFile, type EvaluatorSpec } from './classifier.js';
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

/** What an evaluator file sees, and its metadata, from the metadata alone (checked before a run starts). */
export function evaluatorSpecOf(file = CLASSIFIER_PATH): { spec: EvaluatorSpec; metadata: Record<string, string> } {
  if (!existsSync(file)) throw new Error(`${file} not found: an evaluator's classifier file (train-classifier writes one)`);
  const { metadata } = parseSafetensors(new Uint8Array(readFileSync(file)), file);
  return { spec: specOf(metadata, file), metadata };
}

/**
 * A conditional generator's per-class yardstick: MNIST's test digits through the MNIST classifier
 * (equal shares), or the test features and labels an evaluator of a folder's classes keeps (their
 * shares). `evaluator` names the file in errors.
 */
export async function classReferenceFor(gpu: Gpu, file: ClassifierFile, classNames: readonly string[], evaluator: string): Promise<ClassReference> {
  const why = classMismatch(file.spec, file.metadata, classNames, evaluator);
  if (why) throw new Error(why);
  if (file.spec === MNIST_EVALUATOR) return classTestStats(gpu, file.model, loadImageSet('mnist', 'test'));
  if (!file.reference.testLabels) throw new Error(`${evaluator} keeps no test labels (an older train-classifier made it): train it again for per-class scores`);
  return classReferenceOf(file.reference, file.spec.classes);
}
