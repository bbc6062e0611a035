/**
 * The evaluator: the committed classifier (models/mnist-classifier.safetensors) classifies the
 * MNIST test set at >= 99% with our kernels and its stored reference statistics are the ones it
 * computes; training learns; `eval` scores a checkpoint; `train --eval-every` writes quality rows.
 * The first test runs the classifier on the default route, as `eval` does; the others, whose
 * subject is not the kernels, on the quick-compiling one (QUICK_ROUTE, as the CLI's environment).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLASSIFIER_PATH, loadEvaluator } from '../src/eval/classifier-file.js';
import { CLASSES, ClassifierPass, FEATURES, accuracy, classifyImageSet, trainClassifier } from '../src/eval/classifier.js';
import { featureStats, frechetDistance } from '../src/eval/frechet.js';
import { loadImageSet } from '../src/data/files.js';
import type { KernelRoute } from '../src/layers/plan.js';
import { useGpu } from './helpers/gpu.js';
import { QUICK_ROUTE } from './helpers/config.js';
import { cliInProcess } from './helpers/cli.js';

const test = loadImageSet('mnist', 'test');
const train = loadImageSet('mnist', 'train');
/** A command in this worker, on its shared device (test/helpers/cli.ts), read as spawnSync's result. */
const cli = async (command: string, ...args: string[]) => {
  const r = await cliInProcess(command, ...args);
  return { status: r.code, stdout: r.out, stderr: r.err };
};
const tmp = () => mkdtempSync(join(tmpdir(), 'dcgan-eval-'));

describe('evaluator (gles)', () => {
  const gpu = useGpu('gles');

  it('the committed classifier: >= 99% on the MNIST test set, and the reference statistics stored with it', async () => {
    expect(existsSync(CLASSIFIER_PATH)).toBe(true);
    const { model, reference, metadata } = loadEvaluator(gpu());
    const t = await classifyImageSet(gpu(), model, test);
    const acc = accuracy(t.probs, test.labels, t.n);
    expect(t.n).toBe(10_000);
    expect(acc).toBeGreaterThanOrEqual(0.99);
    expect(Math.abs(acc - Number(metadata.test_accuracy))).toBeLessThanOrEqual(0.0005); // rounded to 4 digits when stored
    // Recomputed statistics equal the stored ones up to float32 rounding differences between runs.
    const stats = featureStats(t.features, t.n, FEATURES);
    const scale = Math.max(...stats.cov.map(Math.abs));
    for (let i = 0; i < stats.cov.length; i++) expect(Math.abs(stats.cov[i]! - reference.test.cov[i]!)).toBeLessThan(1e-4 * scale);
    expect(frechetDistance(stats, reference.test)).toBeLessThan(1e-3 * reference.floor);
    expect(reference.floor).toBeGreaterThan(0);
    expect(reference.floorImages).toBe(10_000);
  });

  it('classifies every image of a set, the short last batch too, as a batch holding them all does', async () => {
    const { model } = loadEvaluator(gpu());
    const seven = { ...test, count: 7, pixels: test.pixels.subarray(0, 7 * 784), labels: test.labels.subarray(0, 7) };
    const [split, whole] = [await classifyImageSet(gpu(), model, seven, { maxBatch: 5, route: QUICK_ROUTE }), await classifyImageSet(gpu(), model, seven, { maxBatch: 7, route: QUICK_ROUTE })];
    expect([split.n, split.features.length]).toEqual([7, 7 * FEATURES]);
    // Other batch sizes may take other matmul variants (other summation orders): float32 rounding apart.
    const scale = Math.max(...whole.features.map(Math.abs));
    for (let i = 0; i < whole.features.length; i++) expect(Math.abs(split.features[i]! - whole.features[i]!), `feature ${i}`).toBeLessThan(1e-5 * scale);
  });

  it('trainClassifier learns from our kernels (a small subset, two epochs)', async () => {
    const count = 2560;
    const subset = { ...train, count, pixels: train.pixels.subarray(0, count * 784), labels: train.labels.subarray(0, count) };
    const lines: string[] = [];
    const model = await trainClassifier(gpu(), subset, { epochs: 2, batchSize: 64, lr: 1e-3, lrDecay: 0.5, seed: 1 }, (l) => lines.push(l), undefined, QUICK_ROUTE);
    expect(lines).toHaveLength(2);
    const held = { ...test, count: 1000, pixels: test.pixels.subarray(0, 1000 * 784), labels: test.labels.subarray(0, 1000) };
    const r = await classifyImageSet(gpu(), model, held, { route: QUICK_ROUTE });
    expect(r.probs.length).toBe(1000 * CLASSES);
    expect(accuracy(r.probs, held.labels, r.n)).toBeGreaterThan(0.8);
  });

  it('runs the kernels a route names (eval --conv, --matmul), and the adapter\'s by default', async () => {
    const { model } = loadEvaluator(gpu());
    const input = gpu().tensor('route input', [8, 1, 28, 28]);
    const kernels = async (route?: KernelRoute) => (await ClassifierPass.create(gpu(), model, input, route)).dispatches.map((d) => d.kernel.split(' ')[0]!);
    const quick = await kernels(QUICK_ROUTE);
    expect(quick.some((k) => k.startsWith('matmul.vec4_8x8'))).toBe(true);
    expect(quick.filter((k) => k.startsWith('matmul.')).every((k) => k.startsWith('matmul.vec4_8x8'))).toBe(true);
    expect(quick.some((k) => k.startsWith('conv_gemm.'))).toBe(false);
    expect((await kernels()).some((k) => k.startsWith('conv_gemm.'))).toBe(true);
  });
});

describe('eval and train --eval-every', { timeout: 300_000 }, () => {
  it('scores a checkpoint: FD above the real-data floor, a histogram of n samples, --json', async () => {
    const out = tmp();
    expect((await cli('train', '--backend', 'gles', '--batch-size', '8', '--max-steps', '2', '--out', out)).status).toBe(0);
    const r = await cli('eval', '--backend', 'gles', '--checkpoint', out, '--n', '300', '--json');
    expect(r.status, r.stderr).toBe(0);
    const q = JSON.parse(r.stdout);
    expect(q.histogram.reduce((a: number, b: number) => a + b, 0)).toBe(300);
    expect(q.fd).toBeGreaterThan(q.fd_floor);
    expect(q.confidence).toBeGreaterThan(0.1);
    expect(q.confidence).toBeLessThanOrEqual(1);
    // null in JSON when a class is missing (an infinite ratio), as after 2 steps it may be.
    if (q.histogram.includes(0)) expect(q.max_min_ratio).toBeNull();
    else expect(q.max_min_ratio).toBeGreaterThanOrEqual(1);
    const table = await cli('eval', '--backend', 'gles', '--checkpoint', out, '--n', '300');
    expect(table.stdout).toMatch(/^FD +\d+\.\d+ +\(real training images: \d+\.\d+; lower is better\)$/m);
    expect(table.stdout).toMatch(/^classes +0:\d+\.\d% 1:/m);
  });

  it('writes quality rows and a quality curve during training', async () => {
    const out = tmp();
    const r = await cli('train', '--backend', 'gles', '--batch-size', '8', '--max-steps', '4', '--eval-every', '2', '--eval-samples', '200', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^quality  step 2: FD \d+\.\d+ \(real data \d+\.\d+\), spread \d+\.\d%, confidence/m);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((row) => row.kind === 'quality');
    expect(rows.map((row) => row.step)).toEqual([2, 4]);
    expect(rows[0].histogram.reduce((a: number, b: number) => a + b, 0)).toBe(200);
    expect(existsSync(join(out, 'quality_curve.png'))).toBe(true);
    // Scoring reads G in eval mode only: the run itself is bit for bit the run without it.
    const plain = tmp();
    expect((await cli('train', '--backend', 'gles', '--batch-size', '8', '--max-steps', '4', '--out', plain)).status).toBe(0);
    for (const f of ['generator.safetensors', 'discriminator.safetensors', 'optimizer.safetensors']) {
      expect(readFileSync(join(out, 'checkpoints', 'latest', f)).equals(readFileSync(join(plain, 'checkpoints', 'latest', f))), f).toBe(true);
    }
  });
});
