/**
 * `train-classifier`: trains the evaluator's MNIST classifier (src/eval/classifier.ts) with our
 * own kernels, reports its MNIST test accuracy and writes its weights as safetensors (the file
 * `eval` uses: models/mnist-classifier.safetensors, committed).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { modelStateDict, serialize } from '../model/state-dict.js';
import { writeFileAtomic } from '../checkpoints/run-files.js';
import { CLASSIFIER_TRAINING, accuracy, classifierTensors, classifyImageSet, trainClassifier } from '../eval/classifier.js';
import { referenceStats } from '../eval/evaluate.js';
import { requestGpu } from '../gpu/gpu.js';
import { loadImageSet } from '../data/files.js';
import { runMain } from './args.js';
import { backendFlag, outFileFlag, seedFlag } from './common-flags.js';
import { HELP_FLAG, flagHelp, int, num, outputFile, parseFlags } from './flags.js';
import { CLASSIFIER_PATH } from '../eval/classifier-file.js';

const C = CLASSIFIER_TRAINING;
export const TRAIN_CLASSIFIER_FLAGS = {
  epochs: int('epochs', { default: C.epochs }),
  'batch-size': int('images per batch', { default: C.batchSize }),
  lr: num('Adam learning rate in the first epoch', { default: C.lr }),
  'lr-decay': num('learning rate factor after each epoch', { le: 1, default: C.lrDecay }),
  seed: seedFlag('initialisation and shuffle', C.seed),
  out: outFileFlag('where to write the weights', CLASSIFIER_PATH, 'models/mnist-classifier.safetensors in this package'),
  backend: backendFlag(),
  ...HELP_FLAG,
};

const HELP = `Usage: webgpu-dcgan train-classifier [options]   (in a clone: npm run train:classifier -- [options])

Trains the evaluator's MNIST classifier on the MNIST training set with this project's own
kernels, prints its accuracy on the MNIST test set and writes its weights (safetensors, with the
accuracy and this command's settings in the metadata).

${flagHelp(TRAIN_CLASSIFIER_FLAGS)}`;

export function main(args: string[]): Promise<void> {
  return runMain(async () => {
    const { values: v } = parseFlags(TRAIN_CLASSIFIER_FLAGS, args);
    if (v.help) return console.log(HELP);
    const o = { epochs: v.epochs, batchSize: v['batch-size'], lr: v.lr, lrDecay: v['lr-decay'], seed: v.seed };
    const out = outputFile(v.out, '--out');
    const train = loadImageSet('mnist', 'train');
    const test = loadImageSet('mnist', 'test');
    const gpu = await requestGpu({ backend: v.backend });
    try {
      console.log(`adapter  ${gpu.describe()}`);
      console.log(`train    ${o.epochs} epochs of ${Math.floor(train.count / o.batchSize)} batches of ${o.batchSize}, Adam lr ${o.lr} x ${o.lrDecay} per epoch, seed ${o.seed}`);
      const start = performance.now();
      const model = await trainClassifier(gpu, train, o, (line) => console.log(`         ${line}`));
      const steps = o.epochs * Math.floor(train.count / o.batchSize);
      const { probs, n } = await classifyImageSet(gpu, model, test);
      const acc = accuracy(probs, test.labels, n);
      console.log(`test     accuracy ${(100 * acc).toFixed(2)}% on the ${n} MNIST test images`);
      const ref = await referenceStats(gpu, model, test, train);
      console.log(`floor    FD ${ref.floor.toFixed(2)} of ${ref.floorImages} real training images against the test set (eval's yardstick)`);
      const meta = {
        format: 'webgpu-dcgan-classifier',
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
        command: `npm run train:classifier -- --epochs ${o.epochs} --batch-size ${o.batchSize} --lr ${o.lr} --lr-decay ${o.lrDecay} --seed ${o.seed}`,
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
