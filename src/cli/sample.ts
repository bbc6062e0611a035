/** `sample`: images from a generator checkpoint. `--help` for the flags. */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkpointFlag, generatorFile } from './generator-file.js';
import { imageRgb, makeGrid } from '../image/images.js';
import { encodePng } from '../image/png.js';
import { classLabel, classRows, generatorFromCheckpoint, imageShapeOf, sampleImages } from '../model/sample.js';
import { requestGpu } from '../gpu/gpu.js';
import { UsageError, runMain } from './args.js';
import { backendFlag, outFileFlag, seedFlag } from './common-flags.js';
import { HELP_FLAG, bool, flagHelp, int, outputFile, parseFlags, text } from './flags.js';

export const SAMPLE_FLAGS = {
  checkpoint: checkpointFlag(),
  ema: bool('use the weight average saved beside the checkpoint (train --ema)'),
  class: text("a conditional checkpoint's class to draw: a label 0..K-1 or a class name (e.g. 7, or Sneaker for Fashion-MNIST), or all: a grid of --n images per class, one row each (the default for a conditional checkpoint)", { arg: 'K|all' }),
  n: int('number of images (with --class all: per class)', { shownDefault: '25, or 10 per class' }),
  seed: seedFlag('latent noise', 0),
  nrow: int('images per grid row', { default: 5 }),
  out: outFileFlag('grid PNG, min-max normalised like save_image(normalize=True)', 'samples.png'),
  individual: text('also write each image as DIR/sample_000.png ((x + 1) / 2 mapped to 0..255)', { arg: 'DIR' }),
  backend: backendFlag(),
  ...HELP_FLAG,
};

const HELP = `Usage: webgpu-dcgan sample --checkpoint PATH [options]   (in a clone: npm run sample -- ...)

Generates images from a generator checkpoint (generator.safetensors written by train, or one
exported from the reference PyTorch model with its state_dict keys) in eval mode.

${flagHelp(SAMPLE_FLAGS)}`;

/**
 * Which class --class asks for: null for an unconditional checkpoint (where --class is an error),
 * `all` (the default for a conditional one), or a label, given as a number or a class name.
 */
export function classPick(value: string | undefined, classNames: string[] | null, file: string): number | 'all' | null {
  if (!classNames) {
    if (value !== undefined) throw new UsageError(`--class: ${file} is an unconditional generator, which cannot be asked for a class (train --conditional makes one that can)`);
    return null;
  }
  if (value === undefined || value === 'all') return 'all';
  // Digits are a label (MNIST's class names are its digits, meaning the same); anything else a name.
  return classLabel(/^\d+$/.test(value) ? Number(value) : value, classNames, '--class', 'all, ');
}

/** Runs the command with its flags (argv after the command name); sets the exit code. */
export function main(args: string[]): Promise<void> {
  return runMain(async () => {
  const { values: v } = parseFlags(SAMPLE_FLAGS, args);
  if (v.help) return console.log(HELP);
  const { seed } = v;
  const file = generatorFile(v.checkpoint, v.ema);
  outputFile(v.out, '--out');
  if (v.individual !== undefined && existsSync(v.individual) && !statSync(v.individual).isDirectory()) {
    throw new UsageError(`--individual: "${v.individual}" exists and is not a directory`);
  }
  const gpu = await requestGpu({ backend: v.backend });
  try {
    const { G, classNames } = generatorFromCheckpoint(gpu, new Uint8Array(readFileSync(file)), file);
    const pick = classPick(v.class, classNames, file);
    const n = pick === 'all' ? (v.n ?? 10) * classNames!.length : (v.n ?? 25);
    const labels = pick === null ? undefined : { classes: classNames!.length, labels: pick === 'all' ? classRows(classNames!.length, v.n ?? 10) : new Array<number>(n).fill(pick) };
    const nrow = pick === 'all' ? (v.n ?? 10) : v.nrow;
    const images = await sampleImages(gpu, G, n, seed, labels);
    mkdirSync(dirname(v.out) || '.', { recursive: true });
    const shape = imageShapeOf(G);
    writeFileSync(v.out, encodePng(makeGrid(images, n, shape, nrow)));
    const what = pick === null ? '' : pick === 'all' ? `, one row per class: ${classNames!.join(', ')}` : `, class ${pick} (${classNames![pick]})`;
    console.log(`wrote ${v.out} (${n} samples${what}, seed ${seed}, ${gpu.describe()})`);
    if (v.individual) {
      mkdirSync(v.individual, { recursive: true });
      const per = shape[0] * shape[1] * shape[2];
      for (let i = 0; i < n; i++) {
        writeFileSync(join(v.individual, `sample_${String(i).padStart(3, '0')}.png`), encodePng(imageRgb(images.subarray(i * per, (i + 1) * per), shape)));
      }
      console.log(`wrote ${n} images to ${v.individual}`);
    }
  } finally {
    gpu.destroy();
  }
});
}
