/**
 * An evaluator for a user's folder (the CLI's commands, in this worker on its shared gles device):
 * train-classifier --data DIR learns the folder's classes, or for a folder of one class the four
 * rotations; eval --evaluator FILE scores a generator trained on that folder with FD and KID,
 * each beside the floor real images score, and refuses a generator of other images.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSafetensors } from '../src/io/safetensors.js';
import { makeShapesFolder } from '../scripts/make-shapes.js';
import { cliInProcess as run } from './helpers/cli.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'dcgan-folder-eval-'));
const folder = tmp();
makeShapesFolder(folder, { perClass: 40 });
const common = ['--backend', 'gles', '--image-size', '32'];

describe('an evaluator for an image folder (gles)', { timeout: 600_000 }, () => {
  it('learns the folder\'s classes and scores a generator trained on it: FD and KID above their real-image floors', async () => {
    const dir = tmp();
    const evaluator = join(dir, 'shapes-evaluator.safetensors');
    const t = await run('train-classifier', ...common, '--data', folder, '--epochs', '2', '--batch-size', '16', '--out', evaluator);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toContain(`data     108 training and 12 test images of 3x32x32 from ${folder}; task: 3 classes`);
    expect(t.out).toMatch(/^floor    FD \d+\.\d+, KID -?\d+\.\d+ ± \d+\.\d+ of 108 real training images against the 12 test images/m);
    const meta = parseSafetensors(new Uint8Array(readFileSync(evaluator)), evaluator).metadata;
    expect(meta).toMatchObject({ task: 'classes', channels: '3', size: '32', classes: '3', class_names: '["circle","square","triangle"]', test_images: '12' });

    const runDir = join(dir, 'run');
    expect((await run('train', ...common, '--data', folder, '--batch-size', '8', '--max-steps', '2', '--out', runDir)).code).toBe(0);
    const e = await run('eval', '--backend', 'gles', '--evaluator', evaluator, '--checkpoint', runDir, '--n', '64', '--json');
    expect(e.code, e.err).toBe(0);
    const q = JSON.parse(e.out);
    expect(q.histogram.reduce((a: number, b: number) => a + b, 0)).toBe(64);
    expect(q.fd).toBeGreaterThan(q.fd_floor);
    expect(q.kid).toBeGreaterThan(q.kid_floor);
    expect(q.kid_se).toBeGreaterThan(0);
    const table = await run('eval', '--backend', 'gles', '--evaluator', evaluator, '--checkpoint', runDir, '--n', '64');
    expect(table.out).toMatch(/^KID +-?\d+\.\d{4} ± \d+\.\d{4} +\(real training images: -?\d+\.\d{4} ± \d+\.\d{4}\)$/m);
    expect(table.out).toMatch(/^classes +0:\d+\.\d% 1:\d+\.\d% 2:\d+\.\d%$/m);

    // In the run: quality rows with KID beside FD, and --evaluator only with --eval-every.
    const scored = join(dir, 'scored');
    const r = await run('train', ...common, '--data', folder, '--batch-size', '8', '--max-steps', '2', '--eval-every', '2', '--eval-samples', '32', '--evaluator', evaluator, '--out', scored);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^quality  step 2: FD \d+\.\d+ \(real data \d+\.\d+\), KID -?\d+\.\d{4} ± \d+\.\d{4}, spread \d+\.\d%, confidence/m);
    const rows = readFileSync(join(scored, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((row) => row.kind === 'quality');
    expect(rows.map((row) => [row.step, typeof row.kid, typeof row.kid_floor])).toEqual([[2, 'number', 'number']]);
    const alone = await run('train', ...common, '--data', folder, '--max-steps', '2', '--evaluator', evaluator, '--out', join(dir, 'alone'));
    expect(alone.err).toContain('--evaluator: it scores with --eval-every N; add that');

    // The MNIST evaluator and this one each refuse the other's images, before sampling anything.
    const mnist = await run('eval', '--backend', 'gles', '--checkpoint', runDir, '--n', '64');
    expect(mnist.code).not.toBe(0);
    expect(mnist.err).toContain('a generator of 3x32x32 images (channels x height x width); the MNIST classifier scores 1x28x28 images');
    const digits = join(dir, 'digits');
    expect((await run('train', '--backend', 'gles', '--batch-size', '8', '--max-steps', '1', '--out', digits)).code).toBe(0);
    const other = await run('eval', '--backend', 'gles', '--evaluator', evaluator, '--checkpoint', digits, '--n', '64');
    expect(other.err).toContain(`a generator of 1x28x28 images (channels x height x width); ${evaluator} scores 3x32x32 images`);
  });

  it('learns the four rotations of a folder without classes, and scores with FD and KID only', async () => {
    const one = join(tmp(), 'circles');
    makeShapesFolder(one, { perClass: 40 });
    const dir = tmp();
    const evaluator = join(dir, 'rotations.safetensors');
    const t = await run('train-classifier', ...common, '--data', join(one, 'circle'), '--epochs', '1', '--batch-size', '16', '--out', evaluator);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toContain('data     144 training and 16 test images of 3x32x32');
    expect(t.out).toContain('task: which of 4 rotations');
    expect(parseSafetensors(new Uint8Array(readFileSync(evaluator)), evaluator).metadata).toMatchObject({ task: 'rotation', classes: '4' });
    const runDir = join(dir, 'run');
    expect((await run('train', ...common, '--data', join(one, 'circle'), '--batch-size', '8', '--max-steps', '1', '--out', runDir)).code).toBe(0);
    const e = await run('eval', '--backend', 'gles', '--evaluator', evaluator, '--checkpoint', runDir, '--n', '32');
    expect(e.code, e.err).toBe(0);
    expect(e.out).toMatch(/^FD +\d+\.\d+ +\(real training images: \d+\.\d+; lower is better\)$/m);
    expect(e.out).toMatch(/^KID +-?\d+\.\d{4} ± /m);
    expect(e.out).not.toMatch(/^classes/m);
    // In a run, its rows carry FD and KID only: a histogram of rotations would read as mode dropping.
    const scored = await run('train', ...common, '--data', join(one, 'circle'), '--batch-size', '8', '--max-steps', '2', '--eval-every', '2', '--eval-samples', '16', '--evaluator', evaluator, '--out', join(dir, 'scored'));
    expect(scored.code, scored.err).toBe(0);
    expect(scored.out).toMatch(/^quality  step 2: FD \d+\.\d+ \(real data \d+\.\d+\), KID -?\d+\.\d{4} ± \d+\.\d{4}, spread \d+\.\d%$/m);
    expect(scored.out).not.toMatch(/mode dropping|max\/min class/);
    const bad = await run('eval', '--backend', 'gles', '--evaluator', evaluator, '--checkpoint', runDir, '--n', '3');
    expect(bad.err).toContain('eval: KID needs at least 4 samples (two blocks of two), found 3');
  });

  it('refuses a folder too small to hold out test images, and the committed MNIST file as --out', async () => {
    const small = tmp();
    makeShapesFolder(small, { perClass: 3 });
    const r = await run('train-classifier', ...common, '--data', small, '--out', join(tmp(), 'x.safetensors'));
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(`--data ${small}: 9 images hold out 1 test images; an evaluator needs at least 40 images`);
    const m = await run('train-classifier', ...common, '--data', small);
    expect(m.err).toContain('--out: an evaluator for other data than mnist needs a file of its own');
  });
});
