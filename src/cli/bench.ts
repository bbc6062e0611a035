/**
 * `npm run bench`: steady-state training-step time at batch 64 on each adapter asked for, with
 * images/s, GFLOP/s and GPU memory, and the reference step in PyTorch on the CPU in the same
 * command (skipped, with a message, where Debian's python3-torch is absent) for the ratio.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GanTrainer, REFERENCE_CONFIG } from '../gan/trainer.js';
import { parseBackend } from '../gpu/backend.js';
import { requestGpu } from '../gpu/gpu.js';
import { loadImageSet } from '../mnist/files.js';
import { positiveInt, runMain } from './args.js';

const HELP = `Usage: webgpu-dcgan bench [options]      (in a clone: npm run bench -- [options])

  --backend LIST   adapters, comma-separated (default: gles,swiftshader; also gpu, auto)
  --batch N        batch size (default 64)
  --steps N        timed steps per adapter after 3 warm-up steps (default 10)
  --no-torch       skip the PyTorch CPU reference
  -h, --help       this text`;

const PYTHON = '/usr/bin/python3';

/** Runs the command with its flags (argv after the command name); sets the exit code. */
export function main(args: string[]): Promise<void> {
  return runMain(async () => {
  const { values: v } = parseArgs({
    args,
    options: {
      backend: { type: 'string', default: 'gles,swiftshader' },
      batch: { type: 'string', default: '64' },
      steps: { type: 'string', default: '10' },
      'no-torch': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) return console.log(HELP);
  const batch = positiveInt(v.batch, '--batch');
  const steps = positiveInt(v.steps, '--steps');
  const set = loadImageSet('mnist', 'train');
  const rows: Array<{ name: string; ms: number; extra: string }> = [];
  for (const name of v.backend.split(',').map((b) => parseBackend(b.trim()))) {
    const gpu = await requestGpu({ backend: name });
    try {
      const trainer = await GanTrainer.create(gpu, set, { ...REFERENCE_CONFIG, batchSize: batch });
      const plan = await trainer.plan(batch);
      for (let i = 0; i < 3; i++) await trainer.step();
      await gpu.sync('warm-up');
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) await trainer.step();
      await gpu.sync('benchmark');
      const ms = (performance.now() - t0) / steps;
      const flops = plan.step.reduce((a, d) => a + (d.flops ?? 0), 0);
      const extra = `${((batch * 1000) / ms).toFixed(1)} images/s, ${(flops / (ms * 1e6)).toFixed(2)} GFLOP/s (${(flops / 1e9).toFixed(2)} GFLOP/step in matmuls), ${(gpu.allocatedBytes / 2 ** 20).toFixed(0)} MiB GPU buffers`;
      rows.push({ name: gpu.describe(), ms, extra });
      console.log(`${gpu.describe()}: ${ms.toFixed(1)} ms/step, ${extra}`);
    } finally {
      gpu.destroy();
    }
  }
  let torchMs: number | null = null;
  if (v['no-torch']) {
    console.log('PyTorch: skipped (--no-torch)');
  } else if (!existsSync(PYTHON) || spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
    console.log(`PyTorch: skipped (${PYTHON} cannot import torch; apt-get install python3-torch)`);
  } else {
    const script = fileURLToPath(new URL('../../scripts/bench_torch.py', import.meta.url));
    const r = spawnSync(PYTHON, [script, '--batch', String(batch), '--steps', String(steps)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`PyTorch reference failed: ${r.stderr.trim().split('\n').pop()}`);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms_per_step: number; threads: number; torch: string };
    torchMs = res.ms_per_step;
    console.log(`PyTorch ${res.torch} CPU (${res.threads} threads): ${torchMs.toFixed(1)} ms/step, ${((batch * 1000) / torchMs).toFixed(1)} images/s`);
  }
  console.log(`\n| adapter | ms/step (batch ${batch}) | vs PyTorch CPU |`);
  console.log('|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.ms.toFixed(1)} | ${torchMs ? `${(r.ms / torchMs).toFixed(2)}x the time` : '-'} |`);
  if (torchMs) console.log(`| PyTorch CPU | ${torchMs.toFixed(1)} | 1.00x |`);
});
}
