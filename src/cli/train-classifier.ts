/**
 * `train-classifier`: trains an evaluator's classifier (src/eval/classifier.ts) with our own
 * kernels, reports its test accuracy and writes its weights as safetensors: the MNIST one `eval`
 * uses by default (models/mnist-classifier.safetensors, committed), or one for a user's data
 * (`--data DIR`) that `eval --evaluator FILE` then scores that data's generators with.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { modelStateDict, serialize } from '../model/state-dict.js';
import { writeFileAtomic } from '../checkpoints/run-files.js';
import { CLASSIFIER_TRAINING, MNIST_EVALUATOR, accuracy, classesOf, classifierTensors, classifyImageSet, specMetadata, trainClassifier, type EvaluatorSpec } from '../eval/classifier.js';
import { evaluatorSpecFor, holdOut, rotations } from '../eval/evaluator-data.js';
import { referenceStats } from '../eval/evaluate.js';
import { requestGpu } from '../gpu/gpu.js';
import { loadImageSet, loadTrainingData } from '../data/files.js';
import type { ImageSet } from '../data/idx.js';
import { runMain } from './args.js';
import { backendFlag, dataCache, dataCacheFlag, dataFlag, outFileFlag, seedFlag } from './common-flags.js';
import type { DecodedCache } from '../data/decoded-cache.js';
import { HELP_FLAG, flagHelp, int, num, outputFile, parseFlags } from './flags.js';
import { settingFlag } from './setting-flags.js';
import { CLASSIFIER_PATH } from '../eval/classifier-file.js';

const C = CLASSIFIER_TRAINING;
export const TRAIN_CLASSIFIER_FLAGS = {
  data: dataFlag(),
  'data-cache': dataCacheFlag(),
  'image-size': settingFlag('imageSize', { help: "the evaluator's image side: the generators it scores must make images of this size (other data than mnist)", shownDefault: '28 for IDX files, 32 for an image folder' }),
  channels: settingFlag('channels'),
  epochs: int('epochs', { default: C.epochs }),
  'batch-size': int('images per batch', { default: C.batchSize }),
  lr: num('Adam learning rate in the first epoch', { default: C.lr }),
  'lr-decay': num('learning rate factor after each epoch', { le: 1, default: C.lrDecay }),
  seed: seedFlag('initialisation and shuffle', C.seed),
  out: outFileFlag('where to write the weights', CLASSIFIER_PATH, 'models/mnist-classifier.safetensors in this package (with --data mnist)'),
  backend: backendFlag(),
  conv: settingFlag('conv'),
  matmul: settingFlag('matmul'),
  ...HELP_FLAG,
};

const HELP = `Usage: webgpu-dcgan train-classifier [options]   (in a clone: npm run train:classifier -- [options])

Trains an evaluator's classifier with this project's own kernels, prints its test accuracy and
writes its weights (safetensors, with the accuracy, the test images' feature statistics and this
command's settings in the metadata). With --data mnist (the default) it is the MNIST classifier
eval uses by default, tested on the MNIST test set. With any other --data it learns that data:
its classes where it has at least two (class subfolders, or IDX labels), else which of four
rotations an image was turned by; every tenth image is held out as its test set, whose features
FD and KID compare a generator's samples with (eval --evaluator FILE). Its scores compare runs
on the same data; they are not the published Inception FID or KID.

${flagHelp(TRAIN_CLASSIFIER_FLAGS)}`;

/** The evaluator's training and test images, and what it sees. */
async function evaluatorData(data: string, size: number | undefined, channels: number | undefined, log: (line: string) => void, cache: DecodedCache | null): Promise<{ spec: EvaluatorSpec; train: ImageSet; test: ImageSet; real: { train: ImageSet; test: ImageSet } }> {
  if (data === 'mnist') {
    if ((size ?? 28) !== 28 || (channels ?? 1) !== 1) throw new Error(`--data mnist: the MNIST evaluator sees 1x28x28 images, found --image-size ${size ?? 28} --channels ${channels ?? 1}`);
    const real = { train: loadImageSet('mnist', 'train'), test: loadImageSet('mnist', 'test') };
    return { spec: MNIST_EVALUATOR, ...real, real };
  }
  const { set } = await loadTrainingData(data, { size: size ?? 32, ...(channels ? { channels } : {}), log, cache });
  const spec = evaluatorSpecFor(set);
  const real = holdOut(set);
  if (real.test.count < 4) throw new Error(`--data ${data}: ${set.count} images hold out ${real.test.count} test images; an evaluator needs at least 40 images`);
  return spec.task === 'rotation' ? { spec, train: rotations(real.train), test: rotations(real.test), real } : { spec, ...real, real };
}

export function main(args: string[]): Promise<void> {
  return runMain(async () => {
    const { values: v } = parseFlags(TRAIN_CLASSIFIER_FLAGS, args);
    if (v.help) return console.log(HELP);
    const o = { epochs: v.epochs, batchSize: v['batch-size'], lr: v.lr, lrDecay: v['lr-decay'], seed: v.seed };
    const out = outputFile(v.out, '--out');
    if (v.data !== 'mnist' && out === CLASSIFIER_PATH) throw new Error('--out: an evaluator for other data than mnist needs a file of its own (the default is the committed MNIST classifier)');
    const { spec, train, test, real } = await evaluatorData(v.data, v['image-size'], v.channels, (line) => console.log(`data     ${line}`), dataCache(v['data-cache']));
    if (train.count < o.batchSize) throw new Error(`--batch-size ${o.batchSize}: the training part holds only ${train.count} images`);
    const gpu = await requestGpu({ backend: v.backend });
    try {
      console.log(`adapter  ${gpu.describe()}`);
      console.log(`data     ${train.count} training and ${test.count} test images of ${spec.channels}x${spec.size}x${spec.size} from ${v.data}; task: ${spec.task === 'classes' ? `${spec.classes} classes` : 'which of 4 rotations'}`);
      console.log(`train    ${o.epochs} epochs of ${Math.floor(train.count / o.batchSize)} batches of ${o.batchSize}, Adam lr ${o.lr} x ${o.lrDecay} per epoch, seed ${o.seed}`);
      const start = performance.now();
      const route = { conv: v.conv, matmul: v.matmul };
      const model = await trainClassifier(gpu, train, o, (line) => console.log(`         ${line}`), spec, route);
      const steps = o.epochs * Math.floor(train.count / o.batchSize);
      const { probs, n } = await classifyImageSet(gpu, model, test, { route });
      const acc = accuracy(probs, test.labels, n, classesOf(model));
      console.log(`test     accuracy ${(100 * acc).toFixed(2)}% on ${n} test images`);
      const pooled = await referenceStats(gpu, model, real.test, real.train, { kid: spec !== MNIST_EVALUATOR, route });
      // An evaluator of a folder's classes keeps its test images' classes too: per-class scores of a conditional G.
      const ref = spec !== MNIST_EVALUATOR && spec.task === 'classes' ? { ...pooled, testLabels: real.test.labels.slice(0, pooled.test.n) } : pooled;
      console.log(`floor    FD ${ref.floor.toFixed(2)}${ref.kidFloor ? `, KID ${ref.kidFloor.kid.toFixed(4)} ± ${ref.kidFloor.standardError.toFixed(4)}` : ''} of ${ref.floorImages} real training images against the ${ref.test.n} test images (eval's yardstick)`);
      const flags = `--data ${v.data}${spec === MNIST_EVALUATOR ? '' : ` --image-size ${spec.size} --channels ${spec.channels}`}`;
      const meta = {
        format: 'webgpu-dcgan-classifier',
        ...(spec === MNIST_EVALUATOR ? {} : { ...specMetadata(spec), data: v.data, kid_floor: String(ref.kidFloor!.kid), kid_floor_se: String(ref.kidFloor!.standardError) }),
        ...(train.classNames && spec.task === 'classes' ? { class_names: JSON.stringify(train.classNames) } : {}),
        test_accuracy: acc.toFixed(4),
        epochs: String(o.epochs),
        batch_size: String(o.batchSize),
        lr: String(o.lr),
        lr_decay: String(o.lrDecay),
        seed: String(o.seed),
        adapter: gpu.describe(),
        test_images: String(ref.test.n),
        fd_floor: String(ref.floor),
        fd_floor_images: String(ref.floorImages),
        command: `npm run train:classifier -- ${flags} --epochs ${o.epochs} --batch-size ${o.batchSize} --lr ${o.lr} --lr-decay ${o.lrDecay} --seed ${o.seed}`,
      };
      mkdirSync(dirname(out) || '.', { recursive: true });
      const tensors = new Map([...(await modelStateDict(gpu, model, steps)), ...classifierTensors(ref)]);
      writeFileAtomic(out, serialize(tensors, meta));
      console.log(`wrote    ${out} in ${((performance.now() - start) / 1000).toFixed(0)} s`);
    } finally {
      gpu.destroy();
    }
  });
}
