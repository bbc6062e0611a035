/**
 * `check-data`: read a data set as training would (an image folder: what it holds and skipped),
 * put it on the GPU, gather shuffled batches and report adapter, timings and the statistics of
 * a batch: a quick check that the data pipeline works here.
 */
import { requestGpu } from '../gpu/gpu.js';
import { GpuDataset } from '../data/dataset.js';
import { loadTrainingData } from '../data/files.js';
import { folderSummary } from './folder-report.js';
import { settingFlag } from './setting-flags.js';
import { NormalNoise } from '../random/noise.js';
import { runMain } from './args.js';
import { backendFlag, dataCache, dataCacheFlag, dataFlag, seedFlag } from './common-flags.js';
import { HELP_FLAG, bool, flagHelp, int, parseFlags } from './flags.js';

export const CHECK_DATA_FLAGS = {
  backend: backendFlag(),
  data: dataFlag(),
  'data-cache': dataCacheFlag(),
  'image-size': int('the side images are resized to, as train --image-size', { arg: 'PX', default: 28 }),
  channels: settingFlag('channels'),
  'strict-data': bool('refuse an image folder at its first unreadable image'),
  'batch-size': int('images per batch', { default: 64 }),
  batches: int('batches to gather for the timing', { default: 100 }),
  seed: seedFlag('shuffle and noise', 0),
  ...HELP_FLAG,
};

const HELP = `Usage: webgpu-dcgan check-data [options] (in a clone: npm run check-data -- [options])

Reads a data set as train does (for an image folder: its classes and counts, the sizes and modes
found, what was skipped and why), uploads it to a WebGPU adapter, gathers shuffled batches on the
GPU and prints the adapter, timings and one batch's statistics.

${flagHelp(CHECK_DATA_FLAGS)}`;

/** Runs the command with its flags (argv after the command name); sets the exit code. */
export function main(args: string[]): Promise<void> {
  return runMain(async () => {
  const { values } = parseFlags(CHECK_DATA_FLAGS, args);
  if (values.help) return console.log(HELP);
  const { 'batch-size': batchSize, batches, seed } = values;

  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = now - t;
    t = now;
    return `${ms.toFixed(0)} ms`;
  };
  const size = values['image-size'];
  const { set, report } = await loadTrainingData(values.data, { size, ...(values.channels ? { channels: values.channels } : {}), strict: values['strict-data'], cache: dataCache(values['data-cache']) });
  console.log(`data     ${set.count} images ${set.channels}x${set.height}x${set.width} from ${set.source} (${lap()})`);
  if (report) for (const line of folderSummary(report, size, set.channels)) console.log(line);
  const gpu = await requestGpu({ backend: values.backend });
  try {
    console.log(`adapter  ${gpu.describe()} (${lap()})`);
    const ds = await GpuDataset.create(gpu, set, { batchSize, seed });
    await gpu.sync('upload');
    console.log(`upload   ${(set.pixels.byteLength / 2 ** 20).toFixed(1)} MiB of images, ${ds.batchesPerEpoch} batches/epoch, last has ${ds.set.count - (ds.batchesPerEpoch - 1) * batchSize} (${lap()})`);

    const n = Math.min(batches, ds.batchesPerEpoch);
    for (let i = 0; i < n; i++) {
      ds.setBatch(i);
      gpu.run([ds.gather], 'gather');
    }
    await gpu.sync('gather');
    const ms = performance.now() - t;
    console.log(`gather   ${n} batches of ${batchSize} in ${lap()} (${((n * batchSize) / (ms / 1000)).toFixed(0)} images/s)`);

    ds.setBatch(0);
    gpu.run([ds.gather]);
    const x = (await gpu.read(ds.batch)) as Float32Array;
    console.log(`batch 0  ${stats(x)}`);

    const z = gpu.tensor('z', [batchSize, 100]);
    const noise = await NormalNoise.create(gpu, z, seed);
    gpu.run([noise.dispatch]);
    console.log(`z        ${stats((await gpu.read(z)) as Float32Array)} (${lap()})`);
  } finally {
    gpu.destroy();
  }
});
}

function stats(x: Float32Array): string {
  let min = Infinity, max = -Infinity, sum = 0, sq = 0;
  for (const v of x) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
    sq += v * v;
  }
  const mean = sum / x.length;
  const std = Math.sqrt(sq / x.length - mean * mean);
  return `n=${x.length} min=${min.toFixed(4)} max=${max.toFixed(4)} mean=${mean.toFixed(4)} std=${std.toFixed(4)}`;
}
