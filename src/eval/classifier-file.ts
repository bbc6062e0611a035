/** The committed classifier file on disk (Node): where it is, and loading it. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Gpu } from '../gpu/gpu.js';
import { classifierFromBytes, specOf, type ClassifierFile, type EvaluatorSpec } from './classifier.js';
import { parseSafetensors } from '../io/safetensors.js';

/** The committed classifier weights (src/eval and dist/eval both sit two levels below the package root). */
export const CLASSIFIER_PATH = fileURLToPath(new URL('../../models/mnist-classifier.safetensors', import.meta.url));

/** The classifier and the test-set reference stored with it, ready to score generators. */
export function loadEvaluator(gpu: Gpu, file = CLASSIFIER_PATH): ClassifierFile {
  if (!existsSync(file)) throw new Error(`${file} not found: the evaluator's classifier weights (npm run train:classifier writes them)`);
  return classifierFromBytes(gpu, new Uint8Array(readFileSync(file)), file);
}

/** What an evaluator file sees, from its metadata alone (checked before a run starts). */
export function evaluatorSpecOf(file = CLASSIFIER_PATH): EvaluatorSpec {
  if (!existsSync(file)) throw new Error(`${file} not found: an evaluator's classifier file (train-classifier writes one)`);
  return specOf(parseSafetensors(new Uint8Array(readFileSync(file)), file).metadata, file);
}
