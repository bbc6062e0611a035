/** `sample`: images from a generator checkpoint. `--help` for the flags. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { FILES } from '../gan/checkpoint.js';
import { generatorFile } from './generator-file.js';
import { makeGrid } from '../gan/images.js';
import { encodePng } from '../gan/png.js';
import { generatorFromCheckpoint, sampleImages } from '../gan/sample.js';
import { BACKEND_ENV, BACKENDS, parseBackend } from '../gpu/backend.js';
import { requestGpu } from '../gpu/gpu.js';
import { positiveInt, runMain } from './args.js';

const HELP = `Usage: webgpu-dcgan sample --checkpoint PATH [options]   (in a clone: npm run sample -- ...)

Generates images from a generator checkpoint (generator.safetensors written by train, or one
exported from the reference PyTorch model with its state_dict keys) in eval mode.

  --checkpoint PATH   a generator .safetensors file, a run directory (its latest checkpoint) or a
                      checkpoint directory holding ${FILES.G}
  --ema               use the weight average saved beside the checkpoint (train --ema)
  --n N               number of images (default 25)
  --seed N            latent noise seed (default 0)
  --nrow N            images per grid row (default 5)
  --out FILE          grid PNG, min-max normalised like save_image(normalize=True) (default samples.png)
  --individual DIR    also write each image as DIR/sample_000.png ((x + 1) / 2 mapped to 0..255)
  --backend NAME      ${BACKENDS.join('|')} (default: $${BACKEND_ENV} or auto)
  -h, --help          this text`;

/** Runs the command with its flags (argv after the command name); sets the exit code. */
export function main(args: string[]): Promise<void> {
  return runMain(async () => {
  const { values: v } = parseArgs({
    args,
    options: {
      checkpoint: { type: 'string' },
      n: { type: 'string', default: '25' },
      seed: { type: 'string', default: '0' },
      nrow: { type: 'string', default: '5' },
      out: { type: 'string', default: 'samples.png' },
      individual: { type: 'string' },
      ema: { type: 'boolean' },
      backend: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) return console.log(HELP);
  const n = positiveInt(v.n, '--n');
  const seed = positiveInt(v.seed, '--seed', 0);
  const nrow = positiveInt(v.nrow, '--nrow');
  const file = generatorFile(v.checkpoint, v.ema);
  const gpu = await requestGpu(v.backend ? { backend: parseBackend(v.backend) } : {});
  try {
    const G = generatorFromCheckpoint(gpu, new Uint8Array(readFileSync(file)), file);
    const images = await sampleImages(gpu, G, n, seed);
    mkdirSync(dirname(v.out) || '.', { recursive: true });
    writeFileSync(v.out, encodePng(makeGrid(images, n, 28, 28, nrow)));
    console.log(`wrote ${v.out} (${n} samples, seed ${seed}, ${gpu.describe()})`);
    if (v.individual) {
      mkdirSync(v.individual, { recursive: true });
      for (let i = 0; i < n; i++) {
        const px = images.subarray(i * 784, (i + 1) * 784);
        const rgb = new Uint8Array(784 * 3);
        px.forEach((x, j) => rgb.fill(Math.round(Math.min(1, Math.max(0, (x + 1) / 2)) * 255), 3 * j, 3 * j + 3));
        writeFileSync(join(v.individual, `sample_${String(i).padStart(3, '0')}.png`), encodePng({ width: 28, height: 28, rgb }));
      }
      console.log(`wrote ${n} images to ${v.individual}`);
    }
  } finally {
    gpu.destroy();
  }
});
}
