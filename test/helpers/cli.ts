/**
 * A command of the CLI run in this test worker (`cliInProcess`), as a user runs it: the same
 * `main(args)` the bin's child runs, on a lease of the worker's shared device for the adapter
 * it names, so its kernels compile once per worker instead of once per command (SwiftShader takes about a minute of CPU for a training step's).
 * Use the subprocess where the process is what is under test: signals, kill -9, locks held by
 * another process, the bin's console filtering, exit codes of a crash.
 */
import { lendGpus } from '../../src/gpu/gpu.js';
import type { Backend } from '../../src/gpu/backend.js';
import { sharedGpu } from './gpu.js';
import { QUICK_ROUTE_ENV } from './config.js';

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

/**
 * As the tests' subprocesses run: no timed tuning (bit-for-bit comparisons between runs must not
 * depend on timing races), and the quick-compiling route (QUICK_ROUTE; a test of the default
 * route passes --conv auto --matmul auto).
 */
export const ENV = { WEBGPU_DCGAN_TUNE: 'off', ...QUICK_ROUTE_ENV };

const COMMANDS: Record<string, () => Promise<{ main(args: string[]): Promise<void> }>> = {
  train: () => import('../../src/cli/train.js'),
  sample: () => import('../../src/cli/sample.js'),
  eval: () => import('../../src/cli/eval.js'),
  export: () => import('../../src/cli/export.js'),
  'check-data': () => import('../../src/cli/check-data.js'),
  'train-classifier': () => import('../../src/cli/train-classifier.js'),
};

/** One in-process command at a time: the console and process.exitCode are the process's. */
let running: Promise<unknown> = Promise.resolve();

/**
 * `webgpu-dcgan COMMAND ARGS` in this process: stdout and stderr captured (console and direct
 * writes), the exit code read from process.exitCode and reset, the environment as ENV sets it,
 * and named adapters lent from the worker's shared devices (`auto` opens its own).
 */
export function cliInProcess(command: string, ...args: string[]): Promise<CliResult> {
  const run = running.then(() => runInProcess(command, args));
  running = run.catch(() => {});
  return run;
}

async function runInProcess(command: string, args: string[]): Promise<CliResult> {
  const load = COMMANDS[command];
  if (!load) throw new Error(`cliInProcess: no in-process entry for "${command}"`);
  const { main } = await load();
  const out: string[] = [];
  const err: string[] = [];
  const saved = { log: console.log, error: console.error, warn: console.warn, stdout: process.stdout.write, stderr: process.stderr.write, env: { ...process.env } };
  const line = (to: string[]) => (...a: unknown[]) => void to.push(`${a.map(String).join(' ')}\n`);
  console.log = line(out);
  console.error = line(err);
  console.warn = line(err);
  process.stdout.write = ((chunk: string | Uint8Array) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  Object.assign(process.env, ENV);
  lendGpus((backend: Backend) => (backend === 'auto' ? null : sharedGpu(backend).then((g) => g.lease())));
  process.exitCode = undefined;
  try {
    await main(args);
    return { code: Number(process.exitCode ?? 0), out: out.join(''), err: err.join('') };
  } finally {
    lendGpus(null);
    process.exitCode = undefined;
    for (const k of Object.keys(ENV)) if (!(k in saved.env)) delete process.env[k];
    Object.assign(process.env, saved.env);
    Object.assign(console, { log: saved.log, error: saved.error, warn: saved.warn });
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
  }
}
