/** `eval`: sample quality of a generator checkpoint, measured with the evaluator's classifier. `--help` for the flags. */
import { readFileSync } from 'node:fs';
import { checkpointFlag, generatorFile } from './generator-file.js';
import { generatorFromCheckpoint, imageShapeOf } from '../model/sample.js';
import { classReferenceFor, loadEvaluator } from '../eval/classifier-file.js';
import { evaluateGenerator, type Quality, type Reference } from '../eval/evaluate.js';
import { requestGpu } from '../gpu/gpu.js';
import { runMain } from './args.js';
import { backendFlag, seedFlag } from './common-flags.js';
import { HELP_FLAG, bool, flagHelp, int, parseFlags, text } from './flags.js';
import { settingFlag } from './setting-flags.js';

export const EVAL_FLAGS = {
  checkpoint: checkpointFlag('; a PyTorch generator converted with scripts/convert_checkpoint.py works too'),
  ema: bool('score the weight average saved beside the checkpoint (train --ema)'),
  n: int('samples', { min: 2, default: 10000 }),
  seed: seedFlag('latent noise', 0),
  evaluator: text("the evaluator's classifier file: train-classifier --data DIR --out FILE makes one for your data", { arg: 'FILE', shownDefault: 'models/mnist-classifier.safetensors' }),
  json: bool('print one JSON object instead of the table (max_min_ratio is null when a class is missing)'),
  backend: backendFlag(),
  conv: settingFlag('conv'),
  matmul: settingFlag('matmul'),
  ...HELP_FLAG,
};

const HELP = `Usage: webgpu-dcgan eval --checkpoint PATH [options]   (in a clone: npm run eval -- ...)

Scores a generator's samples with an evaluator's classifier (our own kernels): by default the MNIST
one (models/mnist-classifier.safetensors), or one train-classifier made for your own data
(--evaluator FILE). Fréchet distance of the classifier's 64 penultimate features against its test
images (lower is better), and with an evaluator for your data KID (unbiased, with its standard
error), each beside the floor real training images score; for an evaluator of classes, the mean
classifier confidence, the class histogram and the max/min class ratio. Classes under a third of
their fair share (equal shares, or for an evaluator of your folder's classes their share of its
test images) are flagged (mode dropping). A conditional generator is asked for each class in
that share and also gets its conditional accuracy and per-class accuracy and FD; the evaluator
must know the same classes (for your folder: train-classifier --data on the folder it was
trained on). These numbers compare runs on the same data: they are not the published Inception
FID or KID.

${flagHelp(EVAL_FLAGS)}`;

/** A KID with its standard error, as the table and the in-run line print it. */
export const formatKid = (k: { kid: number; standardError: number }) => `${k.kid.toFixed(4)} ± ${k.standardError.toFixed(4)}`;

/** The samples' feature spread over the real images', as a percentage. */
export const formatSpread = (spread: number) => `${(100 * spread).toFixed(1)}%`;

/** `classes`: false for a rotation evaluator, whose histogram is of rotations, not classes. */
export function qualityTable(q: Quality, ref: Reference, classes = true): string {
  const share = (c: number) => `${((100 * c) / q.n).toFixed(1)}%`;
  const distances = [
    `FD              ${q.fd.toFixed(2)}   (real training images: ${ref.floor.toFixed(2)}; lower is better)`,
    ...(q.kid && ref.kidFloor ? [`KID             ${formatKid(q.kid)}   (real training images: ${formatKid(ref.kidFloor)})`] : []),
    `spread          ${formatSpread(q.spread)}   (the samples' feature spread over the real images'; near 0: collapse)`,
  ];
  if (!classes) return distances.join('\n');
  return [
    ...distances,
    `confidence      ${q.confidence.toFixed(4)}`,
    `max/min class   ${Number.isFinite(q.maxMinRatio) ? q.maxMinRatio.toFixed(2) : 'inf (a class is missing)'}`,
    `classes         ${q.histogram.map((c, k) => `${k}:${share(c)}`).join(' ')}`,
 ...(q.conditional
      ? [
          `conditional     accuracy ${(100 * q.conditional.accuracy).toFixed(2)}% (samples the classifier names as the class asked for)`,
          `per class acc   ${q.conditional.perClassAccuracy.map((a, k) => `${k}:${Number.isNaN(a) ? 'n/a' : `${(100 * a).toFixed(1)}%`}`).join(' ')}`,
          `per class FD    ${q.conditional.perClassFd.map((f, k) => `${k}:${Number.isNaN(f) ? 'n/a' : f.toFixed(1)}`).join(' ')}`,
        ]
      : []),
    q.rareClasses.length ? `warning         classes ${q.rareClasses.join(', ')} under a third of their fair share (mode dropping)` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** A conditional generator's scores as --json and metrics.jsonl write them (nothing for an unconditional one). */
export function conditionalJson(q: Quality): Record<string, unknown> {
  if (!q.conditional) return {};
  return { conditional_accuracy: q.conditional.accuracy, per_class_samples: q.conditional.perClassSamples, per_class_accuracy: q.conditional.perClassAccuracy, per_class_fd: q.conditional.perClassFd };
}

export function main(args: string[]): Promise<void> {
  return runMain(async () => {
    const { values: v } = parseFlags(EVAL_FLAGS, args);
    if (v.help) return console.log(HELP);
    const { n, seed } = v;
    const file = generatorFile(v.checkpoint, v.ema);
    const gpu = await requestGpu({ backend: v.backend });
    try {
      const start = performance.now();
      const { G, classNames } = generatorFromCheckpoint(gpu, new Uint8Array(readFileSync(file)), file);
      const evaluator = loadEvaluator(gpu, v.evaluator);
      const { model: classifier, reference: ref, metadata, spec } = evaluator;
      const evaluatorFile = v.evaluator ?? 'the MNIST classifier';
      const shape = imageShapeOf(G).join('x');
      const sees = `${spec.channels}x${spec.size}x${spec.size}`;
      if (shape !== sees) throw new Error(`${file}: a generator of ${shape} images (channels x height x width); ${evaluatorFile} scores ${sees} images (train-classifier --data DIR --image-size N --channels C makes an evaluator for other images)`);
      const accuracy = metadata.test_accuracy ?? '?';
      const route = { conv: v.conv, matmul: v.matmul };
      const perClass = classNames ? await classReferenceFor(gpu, evaluator, classNames, evaluatorFile, route) : null;
      const q = await evaluateGenerator(gpu, G, classifier, ref, n, seed, perClass, route);
      const seconds = (performance.now() - start) / 1000;
      if (v.json) {
        const kid = q.kid && ref.kidFloor ? { kid: q.kid.kid, kid_se: q.kid.standardError, kid_floor: ref.kidFloor.kid, kid_floor_se: ref.kidFloor.standardError } : {};
        console.log(JSON.stringify({ checkpoint: file, n, seed, fd: q.fd, fd_floor: ref.floor, ...kid, spread: q.spread, confidence: q.confidence, max_min_ratio: q.maxMinRatio, histogram: q.histogram, rare_classes: q.rareClasses, ...conditionalJson(q), classifier_accuracy: Number(accuracy), seconds }));
      } else {
        console.log(`eval     ${file}: ${n} samples (seed ${seed}) on ${gpu.describe()}, classifier test accuracy ${(100 * Number(accuracy)).toFixed(2)}%${spec.task === 'rotation' ? ' (rotations)' : ''}, ${seconds.toFixed(1)} s`);
        console.log(qualityTable(q, ref, spec.task === 'classes'));
      }
    } finally {
      gpu.destroy();
    }
  });
}
