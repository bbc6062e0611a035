/**
 * The train and sample commands as a user runs them: exact resume, checkpoints PyTorch can load
 * (keys, shapes, dtypes), and one clear error with a non-zero exit for each kind of bad input.
 * Small runs (batch 8, a few steps) on the GLES adapter; each command runs in this worker on its
 * shared device (test/helpers/cli.ts), except where the process is under test (signals, locks).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../src/image/png.js';
import { parseSafetensors, serializeSafetensors, tensorValues } from '../src/io/safetensors.js';
import { INIT_STREAMS, generator, initialValues } from '../src/model/models.js';
import { loadImageSet } from '../src/data/files.js';
import { loadFixture } from './helpers/fixtures.js';
import { ENV as CLI_ENV, cliInProcess } from './helpers/cli.js';

const SMALL = ['--backend', 'gles', '--batch-size', '8', '--log-every', '1'];

/** A command in this worker (test/helpers/cli.ts); the tests of signals and locks spawn the bin. */
const run = (script: 'train' | 'sample', ...args: string[]) => cliInProcess(script, ...args);

const tmp = () => mkdtempSync(join(tmpdir(), 'dcgan-'));
/** An IDX file of unsigned bytes. */
const idx = (dims: number[], bytes: Uint8Array) => {
  const header = new Uint8Array(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => new DataView(header.buffer).setUint32(4 + 4 * i, d));
  return Buffer.concat([header, bytes]);
};
/** A run directory with one checkpoint (1 step), trained without --ema. */
async function tmpRunWithoutEma(): Promise<string> {
  const out = tmp();
  expect((await run('train', ...SMALL, '--max-steps', '1', '--out', out)).code).toBe(0);
  return out;
}

/** The latest checkpoint of a run directory. */
const latest = (dir: string) => join(dir, 'checkpoints', 'latest');
const read = (dir: string, file: string) => parseSafetensors(new Uint8Array(readFileSync(join(latest(dir), file))), file);

function sameTensors(a: string, b: string, file: string): void {
  const x = read(a, file).tensors;
  const y = read(b, file).tensors;
  expect([...x.keys()].sort()).toEqual([...y.keys()].sort());
  for (const [k, t] of x) expect(Buffer.from(t.bytes).equals(Buffer.from(y.get(k)!.bytes)), `${file} ${k}`).toBe(true);
}

/** Two runs' latest checkpoints hold the same tensors, bit for bit, in all three files. */
function sameCheckpoints(a: string, b: string): void {
  for (const f of ['generator.safetensors', 'discriminator.safetensors', 'optimizer.safetensors']) sameTensors(a, b, f);
}

/** A run directory's metrics.jsonl rows. */
const metricsRows = (dir: string): Array<Record<string, number>> =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

// Each test runs several training subprocesses (each allowed 300 s): the first one took 44 s on an
// idle 2-core host and 129 s with three training runs beside it, past vitest's default 120 s.
describe('train', { timeout: 300_000 }, () => {
  it('resumes exactly: 3 steps + resume + 2 steps equals 5 steps, bit for bit', async () => {
    const straight = tmp();
    const split = tmp();
    expect((await run('train', ...SMALL, '--max-steps', '5', '--out', straight)).code).toBe(0);
    const first = await run('train', ...SMALL, '--max-steps', '3', '--out', split);
    expect(first.code, first.err).toBe(0);
    const second = await run('train', '--backend', 'gles', '--resume', split, '--max-steps', '5', '--log-every', '1');
    expect(second.code, second.err).toBe(0);
    expect(second.out).toContain('resumed');
    sameCheckpoints(straight, split);
    // metrics.jsonl continues across the resume: steps 1..5 once each.
    const steps = metricsRows(split).map((r) => r.step);
    expect(steps).toEqual([1, 2, 3, 4, 5]);
  });

  it('adds --lr-decay-from on resume before the decay starts, exactly as if given from the start; refuses it once past', async () => {
    // 2 batches per epoch, 3 epochs: the decay from epoch 1 runs steps 3-6 at 1, 3/4, 2/4, 1/4 of the rate.
    const short = [...SMALL, '--limit-batches', '2', '--epochs', '3'];
    const straight = tmp();
    const split = tmp();
    const constant = tmp();
    expect((await run('train', ...short, '--lr-decay-from', '1', '--max-steps', '5', '--out', straight)).code).toBe(0);
    expect((await run('train', ...short, '--max-steps', '5', '--out', constant)).code).toBe(0);
    expect((await run('train', ...short, '--max-steps', '2', '--out', split)).code).toBe(0);
    const resumed = await run('train', '--backend', 'gles', '--resume', split, '--limit-batches', '2', '--lr-decay-from', '1', '--max-steps', '5', '--log-every', '1');
    expect(resumed.code, resumed.err).toBe(0);
    sameCheckpoints(straight, split);
    expect(read(split, 'optimizer.safetensors').metadata.lr_decay_from).toBe('1');
    const rows = metricsRows(split);
    expect(rows.map((r) => r.lr_g)).toEqual([1, 1, 1, 0.75, 0.5].map((f) => 2e-4 * f));
    expect(rows.map((r) => r.lr_d)).toEqual(rows.map((r) => r.lr_g));
    // The schedule reached the optimiser: step 5 ran at half the rate.
    const g = (dir: string) => tensorValues(read(dir, 'generator.safetensors').tensors.get('model.0.weight')!) as Float32Array;
    expect(g(straight)).not.toEqual(g(constant));

    const late = await run('train', '--backend', 'gles', '--resume', straight, '--limit-batches', '2', '--lr-decay-from', '2');
    expect(late.code).toBe(2);
    expect(late.err).toContain(`--lr-decay-from 2 contradicts the checkpoint in ${straight} (1), which is at epoch 2 batch 1: past the decay's start`);
  });

  it('--lr-d trains D at its own rate, saved in the checkpoint; equal to --lr it is the default run bit for bit', async () => {
    const plain = tmp();
    const same = tmp();
    const slow = tmp();
    expect((await run('train', ...SMALL, '--max-steps', '2', '--out', plain)).code).toBe(0);
    expect((await run('train', ...SMALL, '--max-steps', '2', '--lr-d', '0.0002', '--out', same)).code).toBe(0);
    expect((await run('train', ...SMALL, '--max-steps', '2', '--lr-d', '0.0001', '--out', slow)).code).toBe(0);
    sameCheckpoints(plain, same);
    const d = (dir: string) => tensorValues(read(dir, 'discriminator.safetensors').tensors.get('model.0.weight')!) as Float32Array;
    expect(d(slow)).not.toEqual(d(plain));
    expect(read(slow, 'optimizer.safetensors').metadata.lr_d).toBe('0.0001');
    expect(read(plain, 'optimizer.safetensors').metadata.lr_d).toBe('same');
    const row = metricsRows(slow)[0]!;
    expect([row.lr_g, row.lr_d]).toEqual([2e-4, 1e-4]);
    const r = await run('train', '--backend', 'gles', '--resume', slow, '--lr-d', '0.0002');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--lr-d 0.0002 contradicts the checkpoint in ${slow}, which has 0.0001`);
  });

  it('--recipe improved sets its flags, which explicit flags override; --recipe reference is the default run bit for bit', async () => {
    const plain = tmp();
    const reference = tmp();
    const improved = tmp();
    const overridden = tmp();
    expect((await run('train', ...SMALL, '--max-steps', '1', '--out', plain)).code).toBe(0);
    expect((await run('train', ...SMALL, '--max-steps', '1', '--recipe', 'reference', '--out', reference)).code).toBe(0);
    expect((await run('train', ...SMALL, '--max-steps', '1', '--recipe', 'improved', '--out', improved)).code).toBe(0);
    expect((await run('train', ...SMALL, '--max-steps', '1', '--recipe', 'improved', '--real-label', '1', '--lr-d', '0.0003', '--out', overridden)).code).toBe(0);
    sameCheckpoints(plain, reference);
    const meta = (dir: string) => {
      const m = read(dir, 'optimizer.safetensors').metadata;
      return { init: m.init, real_label: m.real_label, lr: m.lr, lr_d: m.lr_d };
    };
    expect(meta(plain)).toEqual({ init: 'pytorch', real_label: '1', lr: '0.0002', lr_d: 'same' });
    expect(meta(improved)).toEqual({ init: 'dcgan', real_label: '0.9', lr: '0.0004', lr_d: '0.0001' });
    expect(meta(overridden)).toEqual({ init: 'dcgan', real_label: '1', lr: '0.0004', lr_d: '0.0003' });
    const r = await run('train', '--backend', 'gles', '--resume', improved, '--recipe', 'improved');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--recipe: a resumed run keeps the configuration saved in its checkpoint');
  });

  it("writes checkpoints with the reference's state_dict keys, shapes and dtypes, a grid and the reference log line", async () => {
    const out = tmp();
    const r = await run('train', ...SMALL, '--max-steps', '2', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^Epoch \[0\/20\] Batch 0\/7500 Loss D: \d+\.\d+(e-\d+)?, Loss G: \d+\.\d+(e-\d+)?$/m);
    const ref = loadFixture('step');
    for (const [file, prefix] of [['generator.safetensors', 'g.'], ['discriminator.safetensors', 'd.']] as const) {
      const { tensors, metadata } = read(out, file);
      for (const [key, t] of tensors) {
        if (key.endsWith('num_batches_tracked')) {
          expect(t.dtype).toBe('I64');
          expect(t.shape).toEqual([]);
          continue;
        }
        // Every float tensor exists in PyTorch's state_dict (the fixture) with the same shape.
        expect(t.dtype).toBe('F32');
        expect(t.shape, key).toEqual(ref.get(prefix + key).shape);
      }
      expect(metadata.format).toBe('webgpu-dcgan-checkpoint');
      expect(metadata.step).toBe('2');
      expect(metadata.latent_dim).toBe('100');
    }
    expect(existsSync(join(out, 'images', 'step_000002.png'))).toBe(true);
    expect(existsSync(join(out, 'loss_curve.png'))).toBe(true);
  });

  it('trains epochs over a directory of IDX files, with the short last batch, writing a grid and checkpoint per epoch', async () => {
    // 20 MNIST images at batch 8: batches of 8, 8 and a short 4, then the next epoch.
    const data = tmp();
    const set = loadImageSet('mnist', 'train');
    writeFileSync(join(data, 'train-images-idx3-ubyte'), idx([20, 28, 28], set.pixels.subarray(0, 20 * 784)));
    writeFileSync(join(data, 'train-labels-idx1-ubyte'), idx([20], set.labels.subarray(0, 20)));
    const out = tmp();
    const r = await run('train', ...SMALL, '--data', data, '--epochs', '2', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('Epoch [1/2] Batch 0/3 Loss D: ');
    const rows = metricsRows(out);
    expect(rows.map((r) => [r.epoch, r.batch])).toEqual([[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]);
    for (const row of rows) expect(Number.isFinite(row.d_loss) && Number.isFinite(row.g_loss)).toBe(true);
    expect(existsSync(join(out, 'images', 'epoch_001.png'))).toBe(true);
    expect(existsSync(join(out, 'images', 'epoch_002.png'))).toBe(true);
    expect(read(out, 'generator.safetensors').metadata.step).toBe('6');
  });

  it('encodes several steps per submit with the same result, bit for bit, and the same metrics', async () => {
    const one = tmp();
    const four = tmp();
    expect((await run('train', ...SMALL, '--max-steps', '7', '--log-every', '3', '--out', one)).code).toBe(0);
    const r = await run('train', ...SMALL, '--max-steps', '7', '--log-every', '3', '--steps-per-submit', '4', '--out', four);
    expect(r.code, r.err).toBe(0);
    sameCheckpoints(one, four);
    const rows = (dir: string) => metricsRows(dir).map(({ steps_per_s: _, time: __, ...rest }) => rest);
    expect(rows(four)).toEqual(rows(one));
    expect(rows(one).map((row) => row.step)).toEqual([3, 6]);
  });

  /** Starts a long training run through the bin or straight in the worker; resolves once it has logged a few steps. */
  async function startLongRun(entry: 'bin' | 'worker', ...extra: string[]) {
    const out = tmp();
    const script = entry === 'bin' ? 'bin/webgpu-dcgan.js' : 'dist/cli/main.js';
    const child = spawn(process.execPath, [script, 'train', ...SMALL, '--max-steps', '100000', '--out', out, ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...CLI_ENV } });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const metrics = join(out, 'metrics.jsonl');
    const deadline = Date.now() + 120_000;
    while (!(existsSync(metrics) && readFileSync(metrics, 'utf8').split('\n').length > 3) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    return { out, child, exited, err: () => err };
  }

  const stops: Array<[NodeJS.Signals, number, 'bin' | 'worker']> = [
    ['SIGINT', 130, 'bin'],
    ['SIGTERM', 143, 'bin'],
    ['SIGTERM', 143, 'worker'],
    ['SIGHUP', 129, 'bin'],
    ['SIGHUP', 129, 'worker'],
  ];
  for (const [signal, exitCode, entry] of stops) {
    it(`on ${signal} to the ${entry} finishes the step, saves a checkpoint and a grid, and exits with ${exitCode}`, async () => {
      const { out, child, exited, err } = await startLongRun(entry);
      child.kill(signal);
      const code = await exited;
      expect(code, err()).toBe(exitCode);
      expect(err()).toContain(`interrupted: finishing this step, then saving (${signal};`);
      const step = Number(read(out, 'generator.safetensors').metadata.step);
      expect(step).toBeGreaterThanOrEqual(3);
      expect(existsSync(join(out, 'images', `step_${String(step).padStart(6, '0')}.png`))).toBe(true);
      expect(read(out, 'optimizer.safetensors').metadata.step).toBe(String(step));
      // The run is whole: it resumes.
      const r = await run('train', '--backend', 'gles', '--resume', out, '--max-steps', String(step + 1));
      expect(r.code, r.err).toBe(0);
    });
  }

  it('on a second signal exits at once, leaving latest naming a complete checkpoint', async () => {
    const { out, child, exited, err } = await startLongRun('worker', '--checkpoint-every', '1');
    const before = readlinkSync(latest(out));
    child.kill('SIGTERM');
    child.kill('SIGTERM');
    expect(await exited, err()).toBe(143);
    const after = readlinkSync(latest(out));
    expect(after >= before).toBe(true);
    const steps = ['generator.safetensors', 'discriminator.safetensors', 'optimizer.safetensors'].map((f) => read(out, f).metadata.step);
    expect(new Set(steps).size).toBe(1);
    expect(after).toBe(`step-${steps[0]!.padStart(8, '0')}`);
  });

  it('refuses to train into a directory holding another run, naming --resume and --overwrite; --overwrite moves the old run aside', async () => {
    const out = tmp();
    expect((await run('train', ...SMALL, '--max-steps', '2', '--out', out)).code).toBe(0);
    const first = readFileSync(join(latest(out), 'generator.safetensors'));
    const refused = await run('train', ...SMALL, '--max-steps', '2', '--out', out, '--seed', '9');
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(`error: --out: ${out} already holds a training run (${out}/checkpoints); continue it with --resume ${out}, train into a fresh --out, or pass --overwrite to move the old run aside`);
    expect(readFileSync(join(latest(out), 'generator.safetensors')).equals(first)).toBe(true);

    const replaced = await run('train', ...SMALL, '--max-steps', '2', '--out', out, '--seed', '9', '--overwrite');
    expect(replaced.code, replaced.err).toBe(0);
    const aside = readdirSync(out).filter((n) => n.startsWith('replaced-'));
    expect(aside).toHaveLength(1);
    expect(replaced.out).toContain(`overwrite moved the previous run's files to ${join(out, aside[0]!)} (nothing deleted`);
    expect(readFileSync(join(out, aside[0]!, 'checkpoints', 'latest', 'generator.safetensors')).equals(first)).toBe(true);
    expect(existsSync(join(out, aside[0]!, 'metrics.jsonl'))).toBe(true);
    expect(read(out, 'generator.safetensors').metadata.seed).toBe('9');
    expect(readFileSync(join(latest(out), 'generator.safetensors')).equals(first)).toBe(false);
    expect((await run('train', '--backend', 'gles', '--resume', out, '--overwrite')).err).toContain(`--overwrite: ${out} is the run being resumed`);
  });

  const bad: Array<[string, string[], RegExp]> = [
    ['an unknown flag', ['--bogus'], /Unknown option '--bogus'/],
    ['a zero batch size', ['--batch-size', '0'], /--batch-size: expected an integer >= 1, found "0"/],
    ['a negative learning rate', ['--lr=-1'], /--lr: expected a number > 0, found "-1"/],
    ['a negative learning rate as its own argument', ['--lr-d', '-1'], /--lr-d: expected a number > 0, found "-1"/],
    ['a negative EMA decay', ['--ema', '-0.1'], /--ema: expected a number in \(0, 1\), found "-0.1"/],
    ['a negative checkpoint interval', ['--checkpoint-every', '-5'], /--checkpoint-every: expected N steps or N followed by s, m or h \(e.g. 500, 10m\), found "-5"/],
    ['a NaN batch size', ['--batch-size', 'NaN'], /--batch-size: expected an integer >= 1, found "NaN"/],
    ['an infinite learning rate', ['--lr', 'Infinity'], /--lr: expected a number > 0, found "Infinity"/],
    ['a fractional step count', ['--max-steps', '2.5'], /--max-steps: expected an integer >= 1, found "2.5"/],
    ['an empty seed', ['--seed', ''], /--seed: expected an integer >= 0, found ""/],
    ['beta1 of 1', ['--beta1', '1'], /--beta1: expected a number in \(0, 1\), found "1"/],
    ['an unknown loss', ['--loss', 'mse'], /--loss: expected one of bce, bce_logits, hinge, found "mse"/],
    ['an augmentation out of order', ['--diffaug', 'cutout,color'], /--diffaug: expected none or a comma-separated list of color, translation, cutout \(each once, in that order\), found "cutout,color"/],
    ['the hinge loss with a smoothed label', ['--loss', 'hinge', '--recipe', 'improved'], /real label 0\.9 \(--real-label, or the 0\.9 of --recipe improved and classes\): the hinge loss has no target to smooth/],
    ['a missing data directory', ['--data', '/nonexistent'], /--data: expected mnist, fashion or a directory/],
    ['a missing checkpoint', ['--resume', '/nonexistent'], /--resume: \/nonexistent not found/],
  ];
  for (const [what, args, message] of bad) {
    it(`rejects ${what} with one line and a non-zero exit`, async () => {
      const r = await run('train', ...args);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    });
  }

  it('refuses a second trainer on a run directory in use, and takes over a lock a killed run left', async () => {
    const out = tmp();
    const first = spawn(process.execPath, ['bin/webgpu-dcgan.js', 'train', ...SMALL, '--max-steps', '100000', '--out', out], { stdio: 'ignore', env: { ...process.env, ...CLI_ENV } });
    const deadline = Date.now() + 120_000;
    while (!existsSync(join(out, 'metrics.jsonl')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const second = await run('train', ...SMALL, '--max-steps', '1', '--out', out);
    expect(second.code).toBe(1);
    expect(second.err).toMatch(new RegExp(`^error: ${out} is in use by training process \\d+ \\(${out}/\\.lock\\): two runs must not write one directory`, 'm'));
    first.kill('SIGKILL'); // the bin dies; its worker follows (the IPC lifeline), leaving a stale lock
    await new Promise((r) => first.on('exit', r));
    const worker = Number(readFileSync(join(out, '.lock'), 'utf8'));
    const alive = () => {
      try {
        process.kill(worker, 0);
        return true;
      } catch {
        return false;
      }
    };
    const until = Date.now() + 20_000;
    while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(alive(), 'the worker outlived its bin').toBe(false);
    expect(existsSync(join(out, '.lock'))).toBe(true);
    const third = await run('train', ...SMALL, '--max-steps', '1', '--out', out);
    expect(third.code, third.err).toBe(0);
    expect(existsSync(join(out, '.lock'))).toBe(false);
  });

  it('refuses an output directory that is a file', async () => {
    const file = join(tmp(), 'taken');
    writeFileSync(file, 'x');
    const r = await run('train', ...SMALL, '--max-steps', '1', '--out', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`--out: "${file}" exists and is not a directory`);
  });

  it('refuses resume flags that contradict the checkpoint, naming both values', async () => {
    const out = tmp();
    expect((await run('train', ...SMALL, '--max-steps', '1', '--out', out)).code).toBe(0);
    const r = await run('train', '--backend', 'gles', '--resume', out, '--batch-size', '16');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--batch-size 16 contradicts the checkpoint in ${out}, which has 8`);
  });

  it('refuses a corrupt checkpoint, naming the file and the first problem, and keeps it', async () => {
    const out = tmp();
    expect((await run('train', ...SMALL, '--max-steps', '1', '--out', out)).code).toBe(0);
    const file = join(latest(out), 'generator.safetensors');
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    const r = await run('train', '--backend', 'gles', '--resume', out, '--max-steps', '2');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/generator\.safetensors: tensor "model\.\d\.\w+": shape .* needs \d+ bytes/);
    expect(readFileSync(file).length).toBe(bytes.length - 100);
  });

  it('refuses a batch over the adapter\'s binding limit before allocating, naming the largest that fits', async () => {
    // The default route's largest buffer (the quick route's is another).
    const r = await run('train', '--backend', 'gles', '--batch-size', '5000', '--conv', 'auto', '--matmul', 'auto', '--out', tmp());
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: batch size 5000 needs a 250880000-byte buffer \(generator model\.4 \(ConvTranspose2d\)\), more than this adapter's maxStorageBufferBindingSize of \d+ bytes; the largest that fits on this adapter is \d+$/m);
    expect(r.err.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
  });

  it('resizes IDX images of another size to the model\'s, as image folders are, and trains --image-size 32 on 32x32 ones as they are', async () => {
    const data = tmp();
    writeFileSync(join(data, 'train-images-idx3-ubyte'), idx([4, 32, 32], Uint8Array.from({ length: 4 * 32 * 32 }, (_, i) => i % 251)));
    writeFileSync(join(data, 'train-labels-idx1-ubyte'), idx([4], new Uint8Array(4)));
    for (const [flags, side] of [[[], 28], [['--image-size', '32'], 32]] as const) {
      const out = tmp();
      const r = await run('train', '--backend', 'gles', '--batch-size', '2', '--max-steps', '1', '--data', data, ...flags, '--out', out);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain(`data     4 images ${side}x${side} from ${join(data, 'train-images-idx3-ubyte')}`);
      expect(read(out, 'generator.safetensors').tensors.get('model.0.weight')!.shape).toEqual([128 * (side / 4) ** 2, 100]);
    }
  });

  it('saves every --checkpoint-every steps into its own step directory and keeps the newest --keep, as a resumed run does', async () => {
    const out = tmp();
    const r = await run('train', ...SMALL, '--max-steps', '7', '--checkpoint-every', '2', '--keep', '2', '--out', out);
    expect(r.code, r.err).toBe(0);
    // Saved at 2, 4, 6 and at the end (7); the newest two remain, `latest` names the last.
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['latest', 'step-00000006', 'step-00000007']);
    expect(read(out, 'optimizer.safetensors').metadata.step).toBe('7');
    const six = parseSafetensors(new Uint8Array(readFileSync(join(out, 'checkpoints', 'step-00000006', 'generator.safetensors'))), 'g');
    expect(six.metadata.step).toBe('6');
    // Resuming from an older step directory continues the same run directory.
    const again = await run('train', '--backend', 'gles', '--resume', join(out, 'checkpoints', 'step-00000006'), '--max-steps', '8', '--log-every', '1');
    expect(again.code, again.err).toBe(0);
    expect(read(out, 'optimizer.safetensors').metadata.step).toBe('8');
    const steps = metricsRows(out).map((r) => r.step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // The resumed run kept the run's own --keep 2 and --checkpoint-every 2 (not the defaults, 3 and 10m).
    expect(read(out, 'generator.safetensors').metadata).toMatchObject({ keep: '2', checkpoint_every: '2' });
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['latest', 'step-00000007', 'step-00000008']);
    const more = await run('train', '--backend', 'gles', '--resume', out, '--max-steps', '9', '--keep', '4', '--checkpoint-every', '5m');
    expect(more.code, more.err).toBe(0);
    expect(read(out, 'generator.safetensors').metadata).toMatchObject({ keep: '4', checkpoint_every: '300s' });
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['latest', 'step-00000007', 'step-00000008', 'step-00000009']);
  });

  it('trains with --loss hinge and resumes it: the loss in the checkpoint, the run bit-identical to one without a stop', async () => {
    const [straight, split] = [tmp(), tmp()];
    expect((await run('train', ...SMALL, '--loss', 'hinge', '--max-steps', '3', '--out', straight)).code).toBe(0);
    expect(read(straight, 'generator.safetensors').metadata.loss).toBe('hinge');
    expect((await run('train', ...SMALL, '--loss', 'hinge', '--max-steps', '2', '--out', split)).code).toBe(0);
    expect((await run('train', '--backend', 'gles', '--resume', split, '--max-steps', '3')).code).toBe(0);
    for (const f of ['generator.safetensors', 'discriminator.safetensors', 'optimizer.safetensors']) expect(readFileSync(join(latest(split), f)).equals(readFileSync(join(latest(straight), f))), f).toBe(true);
  });

  it('trains with --diffaug color,translation,cutout: the policy in the checkpoint, the draws by step, so a resumed run is bit-identical', async () => {
    const [straight, split] = [tmp(), tmp()];
    const flags = [...SMALL, '--diffaug', 'color,translation,cutout'];
    expect((await run('train', ...flags, '--max-steps', '3', '--out', straight)).code).toBe(0);
    expect(read(straight, 'generator.safetensors').metadata.diffaug).toBe('color,translation,cutout');
    expect((await run('train', ...flags, '--max-steps', '2', '--out', split)).code).toBe(0);
    expect((await run('train', '--backend', 'gles', '--resume', split, '--max-steps', '3')).code).toBe(0);
    for (const f of ['generator.safetensors', 'discriminator.safetensors', 'optimizer.safetensors']) expect(readFileSync(join(latest(split), f)).equals(readFileSync(join(latest(straight), f))), f).toBe(true);
    const changed = await run('train', '--backend', 'gles', '--resume', split, '--max-steps', '4', '--diffaug', 'color');
    expect(changed.code).not.toBe(0);
    expect(changed.err).toMatch(/--diffaug color contradicts the checkpoint/);
  });

  it('trains SNGAN\'s D (--spectral-norm --d-norm none): weight_orig, weight_u and weight_v as PyTorch\'s spectral_norm keeps them, no BatchNorm, and resumes bit-identically', async () => {
    const [straight, split] = [tmp(), tmp()];
    const sngan = ['--spectral-norm', '--loss', 'hinge', '--d-norm', 'none'];
    expect((await run('train', ...SMALL, ...sngan, '--max-steps', '3', '--out', straight)).code).toBe(0);
    const d = read(straight, 'discriminator.safetensors');
    expect(d.metadata).toMatchObject({ spectral_norm: 'true', d_norm: 'none' });
    expect([...d.tensors.keys()].filter((k) => k.startsWith('model.0.')).sort()).toEqual(['model.0.bias', 'model.0.weight_orig', 'model.0.weight_u', 'model.0.weight_v']);
    // The Identity in BatchNorm2d's place (model.3) holds nothing; the Linear keeps its index.
    expect([...d.tensors.keys()].filter((k) => k.startsWith('model.3.'))).toEqual([]);
    expect(d.tensors.has('model.6.weight_orig')).toBe(true);
    expect((await run('train', ...SMALL, ...sngan, '--max-steps', '2', '--out', split)).code).toBe(0);
    const contradiction = await run('train', '--backend', 'gles', '--resume', split, '--d-norm', 'batch', '--max-steps', '3');
    expect(contradiction.code).not.toBe(0);
    expect(contradiction.err).toContain(`--d-norm batch contradicts the checkpoint in ${split}, which has none`);
    expect((await run('train', '--backend', 'gles', '--resume', split, '--max-steps', '3')).code).toBe(0);
    for (const f of ['generator.safetensors', 'discriminator.safetensors', 'optimizer.safetensors']) expect(readFileSync(join(latest(split), f)).equals(readFileSync(join(latest(straight), f))), f).toBe(true);
  });

  it('validates checkpoint metadata like user input, naming the file and the field', async () => {
    const out = tmp();
    expect((await run('train', ...SMALL, '--max-steps', '1', '--out', out)).code).toBe(0);
    const file = join(out, 'checkpoints', 'step-00000001', 'optimizer.safetensors');
    const good = read(out, 'optimizer.safetensors');
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ loss: 'wasserstein' }, /metadata "loss": expected one of bce, bce_logits, hinge, found "wasserstein"/],
      [{ init: 'xavier' }, /metadata "init": expected one of pytorch, dcgan, found "xavier"/],
      [{ format_version: '9' }, /metadata "format_version": expected one of 1, found "9"/],
      [{ batch_index: '-3' }, /metadata "batch_index": expected a non-negative integer, found "-3"/],
      [{ lr: 'fast' }, /metadata "lr": expected a number > 0, found "fast"/],
    ];
    for (const [change, message] of cases) {
      writeFileSync(file, serializeSafetensors(good.tensors, { ...good.metadata, ...change }));
      const r = await run('train', '--backend', 'gles', '--resume', out, '--max-steps', '2');
      expect(r.code, JSON.stringify(change)).toBe(1);
      expect(r.err).toContain(file);
      expect(r.err).toMatch(message);
    }
  });

  it("checks D's batch-norm counters on resume too", async () => {
    const out = tmp();
    expect((await run('train', ...SMALL, '--max-steps', '1', '--out', out)).code).toBe(0);
    const file = join(out, 'checkpoints', 'step-00000001', 'discriminator.safetensors');
    const d = read(out, 'discriminator.safetensors');
    const tensors = new Map(d.tensors);
    tensors.set('model.3.num_batches_tracked', { dtype: 'I64', shape: [], bytes: new Uint8Array(new BigInt64Array([1n]).buffer) });
    writeFileSync(file, serializeSafetensors(tensors, d.metadata));
    const r = await run('train', '--backend', 'gles', '--resume', out, '--max-steps', '2');
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${file}: model.3.num_batches_tracked is 1, expected 3 (3 per step at step 1)`);
  });

  it('keeps an exponential moving average of G (--ema), equal to the average of the saved weights', async () => {
    const out = tmp();
    const r = await run('train', ...SMALL, '--max-steps', '3', '--ema', '0.75', '--checkpoint-every', '1', '--keep', '5', '--init', 'dcgan', '--out', out);
    expect(r.code, r.err).toBe(0);
    const G = generator();
    const init = initialValues(G, 0, 'dcgan', INIT_STREAMS.generator);
    const weights = (step: number, file = 'generator.safetensors') =>
      parseSafetensors(new Uint8Array(readFileSync(join(out, 'checkpoints', `step-0000000${step}`, file))), file).tensors;
    for (const name of ['model.0.weight', 'model.4.weight', 'model.5.bias']) {
      // The average on the host, in float64, from the initial weights and each step's weights.
      let avg = Float64Array.from(init.get(name)!);
      for (let step = 1; step <= 3; step++) {
        const p = tensorValues(weights(step).get(name)!) as Float32Array;
        avg = avg.map((a, i) => 0.75 * a + 0.25 * p[i]!);
      }
      const got = tensorValues(weights(3, 'generator_ema.safetensors').get(name)!) as Float32Array;
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - avg[i]!));
      expect(worst, name).toBeLessThan(1e-7); // float32 rounding of 3 updates of values below 1
    }
    // BN running statistics are G's own; sample and eval pick the file with --ema.
    const ema = weights(3, 'generator_ema.safetensors');
    expect(Buffer.from(ema.get('model.1.running_mean')!.bytes).equals(Buffer.from(weights(3).get('model.1.running_mean')!.bytes))).toBe(true);
    expect((await run('sample', '--backend', 'gles', '--checkpoint', out, '--ema', '--n', '4', '--out', join(out, 'ema.png'))).code).toBe(0);
    const missing = await run('sample', '--backend', 'gles', '--checkpoint', (await tmpRunWithoutEma()), '--ema');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--ema: .*generator_ema\.safetensors not found \(train with --ema DECAY/);
  });

  it('stops on a non-finite loss with the step number and saves nothing', async () => {
    const out = tmp();
    const r = await run('train', ...SMALL, '--max-steps', '6', '--lr', '1e30', '--out', out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/a loss became NaN or infinite at step \d+; stopping without saving .*; try a lower --lr/);
    expect(existsSync(join(out, 'checkpoints'))).toBe(false);
  });
});

describe('sample', () => {
  it('draws a grid and individual images from a checkpoint, the same for the same seed', async () => {
    const out = tmp();
    expect((await run('train', ...SMALL, '--max-steps', '1', '--out', out)).code).toBe(0);
    const a = join(out, 'a.png');
    const b = join(out, 'b.png');
    const r = await run('sample', '--backend', 'gles', '--checkpoint', out, '--n', '9', '--nrow', '3', '--seed', '4', '--out', a, '--individual', join(out, 'each'));
    expect(r.code, r.err).toBe(0);
    expect((await run('sample', '--backend', 'gles', '--checkpoint', join(latest(out), 'generator.safetensors'), '--n', '9', '--nrow', '3', '--seed', '4', '--out', b)).code).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(existsSync(join(out, 'each', 'sample_008.png'))).toBe(true);
  });

  it('draws more images than one dispatch holds on this adapter, in batches', async () => {
    const out = tmp();
    expect((await run('train', ...SMALL, '--max-steps', '1', '--out', out)).code).toBe(0);
    const r = await run('sample', '--backend', 'gles', '--checkpoint', out, '--n', '700', '--nrow', '35', '--out', join(out, 'many.png'));
    expect(r.code, r.err).toBe(0);
    const png = decodePng(readFileSync(join(out, 'many.png')));
    expect([png.width, png.height]).toEqual([2 + 35 * 30, 2 + 20 * 30]);
  });

  it('rejects hostile checkpoint files with one error line naming the file and the problem', async () => {
    const dir = tmp();
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['null.safetensors', Uint8Array.from([4, 0, 0, 0, 0, 0, 0, 0, 110, 117, 108, 108]), /null\.safetensors: header must be a JSON object, found null/],
      ['offsets.safetensors', Buffer.concat([Buffer.from([18, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"w":{"dtype":"F32"}')]).subarray(0, 26), /offsets\.safetensors: header is not valid UTF-8 JSON/],
    ];
    for (const [name, bytes, message] of cases) {
      writeFileSync(join(dir, name), bytes);
      const r = await run('sample', '--backend', 'gles', '--checkpoint', join(dir, name), '--out', join(dir, 'x.png'));
      expect(r.code).toBe(1);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });

  it('rejects an --out that is a directory and bad counts before opening the GPU', async () => {
    const out = (await tmpRunWithoutEma());
    const dir = join(out, 'grids');
    mkdirSync(dir);
    const cases: Array<[string[], string]> = [
      [['--out', dir], `error: --out: "${dir}" is a directory; expected a file name (e.g. ${dir}/samples.png)`],
      [['--n', '-3'], 'error: --n: expected an integer >= 1, found "-3"'],
      [['--seed', 'NaN'], 'error: --seed: expected an integer >= 0, found "NaN"'],
    ];
    for (const [args, message] of cases) {
      const r = await run('sample', '--backend', 'gles', '--checkpoint', out, ...args);
      expect(r.code).toBe(2);
      expect(r.err.split('\n')[0]).toBe(message);
    }
  });

  it('rejects a discriminator given as a generator', async () => {
    const out = tmp();
    expect((await run('train', ...SMALL, '--max-steps', '1', '--out', out)).code).toBe(0);
    const r = await run('sample', '--backend', 'gles', '--checkpoint', join(latest(out), 'discriminator.safetensors'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('missing tensor "model.0.weight" [128 x (size/4)^2, latent_dim] or "model.7.weight" [64, channels, 4, 4]: not a generator checkpoint');
  });
});
