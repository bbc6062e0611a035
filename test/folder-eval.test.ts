/**
 * An evaluator for a user's folder (the CLI's commands, in this worker on its shared gles device):
 * train-classifier --data DIR learns the folder's classes, or for a folder of one class the four
 * rotations; eval --evaluator FILE scores a generator trained on that folder with FD and KID,
 * each beside the floor real images score (and a conditional one per class, in the shares of the
 * classes it holds out), and refuses a generator of other images or other classes.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, tensorValues } from '../src/io/safetensors.js';
import { askedClasses } from '../src/eval/evaluate.js';
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

  it('scores a conditional generator per class, asking for each class in its share of the held-out images', async () => {
    // Unbalanced classes: 16 circles beside 40 squares and 40 triangles.
    const uneven = tmp();
    cpSync(folder, uneven, { recursive: true });
    for (const f of readdirSync(join(uneven, 'circle')).sort().slice(16)) rmSync(join(uneven, 'circle', f));
    const dir = tmp();
    const evaluator = join(dir, 'uneven.safetensors');
    expect((await run('train-classifier', ...common, '--data', uneven, '--epochs', '1', '--batch-size', '16', '--out', evaluator)).code).toBe(0);
    const file = parseSafetensors(new Uint8Array(readFileSync(evaluator)), evaluator);
    const labels = tensorValues(file.tensors.get('reference.test_labels')!) as Uint8Array;
    expect(labels.length).toBe(Number(file.metadata.test_images));
    const counts = [0, 1, 2].map((k) => labels.filter((l) => l === k).length);
    expect(counts.every((c) => c > 0) && counts[0]! < counts[1]!).toBe(true);

    const runDir = join(dir, 'cond');
    expect((await run('train', ...common, '--data', uneven, '--conditional', '--batch-size', '8', '--max-steps', '2', '--out', runDir)).code).toBe(0);
    const e = await run('eval', '--backend', 'gles', '--evaluator', evaluator, '--checkpoint', runDir, '--n', '60', '--json');
    expect(e.code, e.err).toBe(0);
    const q = JSON.parse(e.out);
    const asked = askedClasses(60, counts);
    expect(q.per_class_samples).toEqual([0, 1, 2].map((k) => asked.filter((a) => a === k).length));
    expect(q.per_class_fd).toHaveLength(3);
    for (const fd of q.per_class_fd) expect(fd).toBeGreaterThan(0);
    expect(q.per_class_accuracy.every((a: number) => a >= 0 && a <= 1)).toBe(true);
    // In a run too, with the run's classes checked against the evaluator's before training.
    const r = await run('train', ...common, '--data', uneven, '--conditional', '--batch-size', '8', '--max-steps', '2', '--eval-every', '2', '--eval-samples', '30', '--evaluator', evaluator, '--out', join(dir, 'scored'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^quality  step 2: FD .*conditional accuracy \d+\.\d%$/m);

    // An evaluator of other classes, or of rotations, cannot score it per class.
    const other = join(dir, 'other.safetensors');
    expect((await run('train-classifier', ...common, '--data', folder, '--epochs', '1', '--batch-size', '16', '--out', other)).code).toBe(0);
    const renamed = tmp();
    cpSync(uneven, renamed, { recursive: true });
    cpSync(join(renamed, 'circle'), join(renamed, 'disc'), { recursive: true });
    rmSync(join(renamed, 'circle'), { recursive: true });
    const discs = join(dir, 'discs');
    expect((await run('train', ...common, '--data', renamed, '--conditional', '--batch-size', '8', '--max-steps', '1', '--out', discs)).code).toBe(0);
    const wrong = await run('eval', '--backend', 'gles', '--evaluator', other, '--checkpoint', discs, '--n', '30');
    expect(wrong.code).not.toBe(0);
    expect(wrong.err).toContain(`${other}'s classes are circle, square, triangle; the conditional generator's are disc, square, triangle`);
    const early = await run('train', ...common, '--data', renamed, '--conditional', '--max-steps', '1', '--eval-every', '1', '--evaluator', other, '--out', join(dir, 'early'));
    expect(early.err).toContain(`--eval-every: ${other}'s classes are circle, square, triangle`);
    const rotations = join(dir, 'rotations.safetensors');
    expect((await run('train-classifier', ...common, '--data', join(folder, 'circle'), '--epochs', '1', '--batch-size', '16', '--out', rotations)).code).toBe(0);
    const rot = await run('eval', '--backend', 'gles', '--evaluator', rotations, '--checkpoint', runDir, '--n', '30');
    expect(rot.err).toContain('learned which of 4 rotations an image was turned by (its folder has no classes); per-class scores of a conditional generator need an evaluator trained on');
    // The MNIST classifier's classes are the digits: a Fashion-MNIST generator's are not.
    const fashion = join(dir, 'fashion');
    expect((await run('train', '--backend', 'gles', '--data', 'fashion', '--conditional', '--batch-size', '8', '--max-steps', '1', '--out', fashion)).code).toBe(0);
    const digits = await run('eval', '--backend', 'gles', '--checkpoint', fashion, '--n', '30');
    expect(digits.err).toContain("the MNIST classifier's classes are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9; the conditional generator's are T-shirt/top, Trouser");
  });
});

describe('askedClasses', () => {
  it('asks for each class in turn when the shares are equal, and keeps every prefix near uneven shares', () => {
    expect(askedClasses(7, [5, 5, 5])).toEqual([0, 1, 2, 0, 1, 2, 0]);
    const asked = askedClasses(100, [1, 3, 6]);
    expect([0, 1, 2].map((k) => asked.filter((a) => a === k).length)).toEqual([10, 30, 60]);
    for (let i = 1; i <= 100; i++) {
      const prefix = asked.slice(0, i);
      [1, 3, 6].forEach((c, k) => expect(Math.abs(prefix.filter((a) => a === k).length - (i * c) / 10)).toBeLessThanOrEqual(1));
    }
    expect(askedClasses(4, [0, 2])).toEqual([1, 1, 1, 1]);
  });
});
