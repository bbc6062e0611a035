/**
 * `npm run bench`: steady-state training-step time at batch 64 on each adapter asked for, with
 * images/s, GFLOP/s and GPU memory, and the same model's step in PyTorch on the CPU in the same
 * command (skipped, with a message, where Debian's python3-torch is absent) for the ratio: the
 * reference pair by default, or --arch dcgan (pytorch/examples' model, 64x64 or --image-size 32-256).
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { GanTrainer, REFERENCE_CONFIG } from '../train/trainer.js';
import { BACKENDS } from '../gpu/backend.js';
import { requestGpu } from '../gpu/gpu.js';
import { median } from '../gpu/timer.js';
import { loadImageSet } from '../data/files.js';
import { runMain } from './args.js';
import { HELP_FLAG, bool, choice, custom, flagHelp, int, list, parseFlags, text, type FlagValues } from './flags.js';
import { settingFlag, settingListFlag, variantOf, type Variant } from './setting-flags.js';
import { SETTINGS } from '../train/settings.js';
import { archDefaults, isDcgan, type ModelSpec } from '../model/models.js';
import { DIGITS } from '../data/classes.js';
import { modelSpecOf } from '../train/trainer.js';
import type { ImageSet } from '../data/idx.js';

/** Random bytes as images of a model's shape, for timing a model the bundled data does not fit. */
function randomImages(channels: number, size: number, count: number): ImageSet {
  const pixels = new Uint8Array(count * channels * size * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;
  return { count, channels, height: size, width: size, pixels, labels: new Uint8Array(count), source: `${count} random ${channels}x${size}x${size} images`, classNames: [...DIGITS] };
}

export const BENCH_FLAGS = {
  backend: list(choice(BACKENDS, ''), 'adapters, comma-separated', { default: ['gles', 'swiftshader'] }),
  'batch-size': int('batch size', { default: 64 }),
  arch: settingFlag('arch'),
  'image-size': settingFlag('imageSize'),
  channels: settingFlag('channels', { help: 'image channels (a model other than the reference 1x28x28 trains on random images of its shape)', shownDefault: '1, or 3 for dcgan' }),
  nz: settingFlag('latentDim', { help: SETTINGS.latentDim.alias!.help }),
  ngf: settingFlag('ngf'),
  ndf: settingFlag('ndf'),
  steps: int('timed steps per adapter', { default: 10 }),
  'torch-device': list(choice(['cpu', 'cuda'], ''), 'PyTorch devices, comma-separated', { default: ['cpu'] }),
  python: text('the Python that has torch', { shownDefault: '/usr/bin/python3, else python3 on PATH' }),
  tune: settingListFlag('tune', 'comma-separated: matmul variant choice as train --tune, each a row'),
  conv: settingListFlag('conv', 'comma-separated: convolution path as train --conv, each a row'),
  'd-passes': settingListFlag('dPasses', "comma-separated: D's real and fake passes as one pass over both halves or as two (auto: merged where it fits), each a row"),
  conditional: settingListFlag('conditional', 'comma-separated: the unconditional pair (none) or a conditional one with that head, as train --conditional --head, each a row'),
  'shard-mib': settingListFlag('shardBytes', 'comma-separated: the data set all on the GPU (all) or streamed in shards of X MiB as train --shard-mib, each a row (time shards small enough that the timed steps cross several)'),
  variants: custom('FLAGS', "semicolon-separated sets of train's model and optimiser flags, each a row, e.g. ';--loss hinge;--diffaug color,translation,cutout' (an empty set is the reference's settings)", (value, source): Variant[] => value.split(';').map((t) => variantOf(t, source)), { default: [{ text: '', settings: {} }] as Variant[], shownDefault: 'the reference' }),
  'steps-per-submit': list(int(''), 'comma-separated: steps per command buffer, each a row', { shownDefault: '1 on CPU adapters, 8 on GPUs' }),
  'no-torch': bool('skip the PyTorch reference'),
  json: bool('print one JSON object instead of the table'),
  ...HELP_FLAG,
};

const HELP = `Usage: webgpu-dcgan bench [options]      (in a clone: npm run bench -- [options])

Times a training step (after 3 warm-up steps) on each adapter, then the reference step in PyTorch
in the same command, and prints the ratio. Several configurations of one adapter (--variants,
--tune, --conv, --d-passes lists) are built first and then stepped in alternation, so a shared
machine's load hits them alike; each row is the median step. Figures name the CPU: compare
ratios, not absolutes.

${flagHelp(BENCH_FLAGS)}`;

interface Row {
  adapter: string;
  ms_per_step: number;
  images_per_s: number;
  gflops: number;
  gpu_buffer_mib: number;
}
interface TorchRow {
  device: string;
  ms_per_step: number;
  threads: number;
  torch: string;
}

function findPython(given: string | undefined): string | null {
  const candidates = given ? [given] : ['/usr/bin/python3', 'python3'];
  for (const py of candidates) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return null;
}

/** Runs the command with its flags (argv after the command name); sets the exit code. */
export function main(args: string[]): Promise<void> {
  return runMain(async () => {
    const { values: v } = parseFlags(BENCH_FLAGS, args);
    if (v.help) return console.log(HELP);
    const { 'batch-size': batch, steps } = v;
    const arch = v.arch ?? REFERENCE_CONFIG.arch;
    const defaults = archDefaults(arch);
    const model = {
      arch,
      imageSize: v['image-size'] ?? defaults.size,
      channels: v.channels ?? (isDcgan(arch) ? 3 : 1),
      latentDim: v.nz ?? REFERENCE_CONFIG.latentDim,
      ngf: v.ngf ?? REFERENCE_CONFIG.ngf,
      ndf: v.ndf ?? REFERENCE_CONFIG.ndf,
      init: defaults.init,
    };
    const spec = modelSpecOf({ ...REFERENCE_CONFIG, ...model });
    const say = v.json ? () => {} : (line: string) => console.log(line);
    const { tune: tunes, conv: convs, 'd-passes': passes, conditional: conds, 'shard-mib': shards } = v;
    GanTrainer.tuneLog = say;
    const cpu = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores`;
    say(`cpu      ${cpu}`);
    const set = spec.arch === 'reference' && spec.channels === 1 && spec.size === 28 ? loadImageSet('mnist', 'train') : randomImages(spec.channels, spec.size, 8 * batch);
    say(`model    ${spec.arch} ${spec.channels}x${spec.size}x${spec.size}${isDcgan(spec.arch) ? `, nz ${spec.latentDim}, ngf ${spec.ngf}, ndf ${spec.ndf}` : ''}; data ${set.source}`);
    const rows: Row[] = [];
    const { variants } = v;
    const configs = variants.flatMap((variant) => tunes.flatMap((tune) => convs.flatMap((conv) => passes.flatMap((dPasses) => conds.flatMap((conditional) => shards.map((shard) => ({ variant, tune, conv, dPasses, conditional, shard })))))));
    for (const name of v.backend) {
      const gpu = await requestGpu({ backend: name });
      try {
        const pers = v['steps-per-submit'] ?? [gpu.isSoftware ? 1 : 8];
        // Every configuration of this adapter is built and warmed up first, then their steps
        // alternate round by round: load from elsewhere on a shared machine hits all alike.
        const runs = [];
        for (const { variant, tune, conv, dPasses, conditional, shard, per } of configs.flatMap((c) => pers.map((per) => ({ ...c, per })))) {
          const before = gpu.allocatedBytes;
          const trainer = await GanTrainer.create(gpu, set, { ...REFERENCE_CONFIG, ...model, ...variant.settings, batchSize: batch, tune, conv, dPasses, conditional, shardBytes: shard });
          const plan = await trainer.plan(batch);
          for (let i = 0; i < 3; i++) await trainer.step();
          await gpu.sync('warm-up');
          const label = `${gpu.describe()}${variants.length > 1 ? ` [${variant.text || 'reference'}]` : ''}${tunes.length > 1 ? ` tune ${tune}` : ''}${convs.length > 1 ? ` conv ${conv}` : ''}${passes.length > 1 ? ` D ${dPasses}` : ''}${conds.length > 1 ? ` ${conditional === 'none' ? 'unconditional' : `conditional ${conditional}`}` : ''}${shards.length > 1 ? (shard === null ? ' data on the GPU' : ` streamed in ${+(shard / 2 ** 20).toFixed(3)} MiB shards`) : ''}${per > 1 || pers.length > 1 ? `, ${per} steps/submit` : ''}`;
          runs.push({ trainer, label, per, done: 0, flops: plan.step.reduce((a, d) => a + (d.flops ?? 0), 0), bytes: gpu.allocatedBytes - before, times: [] as number[] });
        }
        while (runs.some((r) => r.done < steps)) {
          for (const run of runs.filter((r) => r.done < steps)) {
            const t0 = performance.now();
            const n = (await run.trainer.steps(Math.min(run.per, steps - run.done))).length;
            await gpu.sync('benchmark');
            run.times.push((performance.now() - t0) / n);
            run.done += n;
          }
        }
        for (const run of runs) {
          const ms = median(run.times);
          const row = { adapter: run.label, ms_per_step: ms, images_per_s: (batch * 1000) / ms, gflops: run.flops / (ms * 1e6), gpu_buffer_mib: run.bytes / 2 ** 20 };
          rows.push(row);
          say(`${row.adapter}: ${ms.toFixed(1)} ms/step (median of ${run.times.length}; mean ${(run.times.reduce((a, b) => a + b, 0) / run.times.length).toFixed(1)}), ${row.images_per_s.toFixed(1)} images/s, ${row.gflops.toFixed(2)} GFLOP/s (${(run.flops / 1e9).toFixed(2)} GFLOP/step in matmuls), ${row.gpu_buffer_mib.toFixed(0)} MiB GPU buffers`);
        }
      } finally {
        gpu.destroy();
      }
    }
    const torch = torchRows(v, spec, batch, steps, say);
    if (v.json) {
      console.log(JSON.stringify({ cpu, batch, steps, model: spec, adapters: rows, torch }));
      return;
    }
    printTable(`${cpu}, ${spec.arch} ${spec.channels}x${spec.size}x${spec.size}, batch ${batch}`, rows, torch);
  });
}

/** PyTorch's step on each --torch-device, in the same command (none with --no-torch or without torch). */
function torchRows(v: FlagValues<typeof BENCH_FLAGS>, spec: ModelSpec, batch: number, steps: number, say: (line: string) => void): TorchRow[] {
  const torch: TorchRow[] = [];
  const python = v['no-torch'] ? null : findPython(v.python);
  if (v['no-torch']) {
    say('PyTorch: skipped (--no-torch)');
  } else if (!python) {
    say(`PyTorch: skipped (${v.python ?? '/usr/bin/python3 and python3'} cannot import torch; apt-get install python3-torch)`);
  } else {
    const script = fileURLToPath(new URL('../../scripts/bench_torch.py', import.meta.url));
    for (const device of v['torch-device']) {
      const shape = ['--arch', spec.arch, '--channels', String(spec.channels), '--image-size', String(spec.size), '--nz', String(spec.latentDim), '--ngf', String(spec.ngf), '--ndf', String(spec.ndf)];
      const r = spawnSync(python, [script, '--batch', String(batch), '--steps', String(steps), '--device', device, ...shape], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`PyTorch reference on ${device} failed: ${r.stderr.trim().split('\n').pop()}`);
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchRow & { name?: string };
      const row = { device: res.name ? `${device} (${res.name})` : device, ms_per_step: res.ms_per_step, threads: res.threads, torch: res.torch };
      torch.push(row);
      say(`PyTorch ${row.torch} ${row.device} (${row.threads} CPU threads): ${row.ms_per_step.toFixed(1)} ms/step, ${((batch * 1000) / row.ms_per_step).toFixed(1)} images/s`);
    }
  }
  return torch;
}

/** The figures as a markdown table, each beside PyTorch's first device. */
function printTable(title: string, rows: Row[], torch: TorchRow[]): void {
  const base = torch[0];
  console.log(`\n${title}:\n`);
  console.log(`| adapter | ms/step | vs PyTorch ${base?.device ?? ''} |`);
  console.log('|---|---|---|');
  for (const r of rows) console.log(`| ${r.adapter} | ${r.ms_per_step.toFixed(1)} | ${base ? `${(r.ms_per_step / base.ms_per_step).toFixed(2)}x the time` : '-'} |`);
  for (const t of torch) console.log(`| PyTorch ${t.device} | ${t.ms_per_step.toFixed(1)} | ${(t.ms_per_step / base!.ms_per_step).toFixed(2)}x |`);
}
