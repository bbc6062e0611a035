/**
 * Conditional generation end to end (the step's parity with PyTorch is test/conditional-step.test.ts):
 * the labels a batch is gathered with, sampling by class through the Sampler and the embed API,
 * what checkpoints say and refuse, and the CLI (train --conditional, sample --class, resume).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GanTrainer } from '../src/train/trainer.js';
import { runStateFiles, loadRunState } from '../src/checkpoints/run-state.js';
import { FILES } from '../src/model/state-dict.js';
import { Sampler, classRows, generatorFromCheckpoint } from '../src/model/sample.js';
import { LoadedGenerator } from '../src/embed.js';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { decodePng } from '../src/image/png.js';
import { loadImageSet } from '../src/data/files.js';
import { FASHION } from '../src/data/classes.js';
import { epochOrder } from '../src/data/shuffle.js';
import { TEST_CONFIG } from './helpers/config.js';
import { useGpu } from './helpers/gpu.js';
import { cliInProcess } from './helpers/cli.js';

const set = loadImageSet('mnist', 'train');
const CONFIG = { ...TEST_CONFIG, batchSize: 8, conditional: 'projection' as const };

/** A command in this worker, on its shared device (test/helpers/cli.ts). */
const run = (script: 'train' | 'sample', ...args: string[]) => cliInProcess(script, ...args);
const tmp = () => mkdtempSync(join(tmpdir(), 'dcgan-cond-'));
const filesOf = (named: Array<[string, Uint8Array]>) => new Map(named.map(([name, bytes]) => [name, { file: name, bytes }]));

describe('conditional generation on gles', () => {
  const gpu = useGpu('gles');

  it("gathers each batch's labels in the epoch's order, as its images are", async () => {
    const t = await GanTrainer.create(gpu(), set, CONFIG);
    const order = epochOrder(set.count, CONFIG.seed, 0);
    for (let k = 0; k < 3; k++) {
      const [plan] = await t.steps(1);
      const labels = Array.from((await gpu().read(plan!.labels!)) as Float32Array);
      const real = (await gpu().read(plan!.real)) as Float32Array;
      const picked = Array.from(order.subarray(k * 8, (k + 1) * 8));
      expect(labels, `batch ${k}`).toEqual(picked.map((j) => set.labels[j]));
      // The image in the same row is that image (ToTensor + Normalize of its bytes).
      picked.forEach((j, i) => expect(Math.round((real[i * 784 + 400]! + 1) * 127.5), `batch ${k} row ${i}`).toBe(set.pixels[j * 784 + 400]));
    }
  });

  it('runs k steps per submit exactly as k submits of one step', async () => {
    const one = await GanTrainer.create(gpu(), set, CONFIG);
    const four = await GanTrainer.create(gpu(), set, CONFIG);
    for (let i = 0; i < 4; i++) await one.steps(1);
    await four.steps(4);
    for (const m of ['G', 'D'] as const) {
      const a = (await gpu().read(one[m].params.all('param'))) as Float32Array;
      const b = (await gpu().read(four[m].params.all('param'))) as Float32Array;
      expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer)), `${m} parameters`).toBe(true);
    }
  });

  it.each(['projection', 'acgan'] as const)('%s head: BCE after Sigmoid and BCE with logits train alike (one-sided label smoothing too)', async (head) => {
    // The same model, data and noise; the two loss formulas agree in exact arithmetic, so in
    // float32 their losses after a step agree to rounding (1e-5 relative; measured: D's identical, G's within 1e-7).
    const stats = [];
    for (const loss of ['bce', 'bce_logits'] as const) {
      const t = await GanTrainer.create(gpu(), set, { ...CONFIG, conditional: head, loss, realLabel: 0.9 });
      const [plan] = await t.steps(1);
      stats.push(await t.stats(plan!));
    }
    const [a, b] = stats as [Awaited<ReturnType<GanTrainer['stats']>>, Awaited<ReturnType<GanTrainer['stats']>>];
    for (const k of ['dLoss', 'gLoss', 'dReal', 'dFake'] as const) expect(Math.abs(a[k] - b[k]) / Math.abs(a[k]), `${head} ${k}: ${a[k]} vs ${b[k]}`).toBeLessThan(1e-5);
  });

  it('samples the class asked for: the same image for the same (seed, class, index), another for another class', async () => {
    const t = await GanTrainer.create(gpu(), null, CONFIG);
    const s = await Sampler.create(gpu(), t.G, 10, undefined, 10);
    const rows = classRows(10, 1);
    const a = await s.fromSeed(3, rows);
    const again = await s.fromSeed(3, rows);
    expect(again).toEqual(a);
    const shifted = await s.fromSeed(3, rows.map((k) => (k + 1) % 10));
    for (let i = 0; i < 10; i++) expect(shifted.subarray(i * 784, (i + 1) * 784), `image ${i}`).not.toEqual(a.subarray(i * 784, (i + 1) * 784));
    // Batched (4 per dispatch) gives each image the same noise and class as one dispatch does.
    const batched = await (await Sampler.create(gpu(), t.G, 10, 4, 10)).fromSeed(3, rows);
    for (let i = 0; i < a.length; i++) expect(Math.abs(batched[i]! - a[i]!)).toBeLessThan(1e-6);
    await expect(s.fromSeed(3)).rejects.toThrow('a conditional generator needs a class for each image (0..9)');
    await expect(s.fromSeed(3, rows.map(() => 10))).rejects.toThrow('labels[0]: expected a class 0..9, found 10');
    await expect(s.fromSeed(3, [1, 2])).rejects.toThrow('labels: expected 10 (one per image), found 2');
  });

  it('checkpoints say the model is conditional, and a conditional checkpoint never loads as an unconditional one (or the reverse)', async () => {
    const t = await GanTrainer.create(gpu(), null, CONFIG);
    const files = await runStateFiles(t);
    const gBytes = files.find(([n]) => n === FILES.G)![1];
    const meta = parseSafetensors(gBytes, 'g').metadata;
    expect([meta.conditional, meta.classes, JSON.parse(meta.class_names!)]).toEqual(['projection', '10', ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']]);
    const { G, classNames } = generatorFromCheckpoint(gpu(), gBytes, 'g.safetensors');
    expect(classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(G.namedParamSpecs()[0]!.shape).toEqual([6272, 110]);

    const plain = await GanTrainer.create(gpu(), null, { ...CONFIG, conditional: 'none' });
    expect(() => loadRunState(filesOf(files), plain, 'ckpt')).toThrow(`${FILES.G}: tensor "model.0.weight": expected shape [6272, 100], found [6272, 110]`);
    expect(() => loadRunState(filesOf(files.map(([n, b]) => [n, b] as [string, Uint8Array])), t, 'ckpt')).not.toThrow();
    const plainFiles = await runStateFiles(plain);
    expect(() => loadRunState(filesOf(plainFiles), t, 'ckpt')).toThrow(`${FILES.G}: tensor "model.0.weight": expected shape [6272, 110], found [6272, 100]`);
    // A conditional generator whose metadata lost its classes cannot pass as an unconditional one of latent 110 silently: its class names are checked.
    const parsed = parseSafetensors(gBytes, 'g');
    const broken = serializeSafetensors(parsed.tensors, { ...parsed.metadata, class_names: '["a"]' });
    expect(() => generatorFromCheckpoint(gpu(), broken, 'g.safetensors')).toThrow('g.safetensors: metadata "class_names": expected a JSON list of 10 names, found "[\\"a\\"]"');
  });

  it('the embed API draws a class by label or by name, names its classes, and refuses labels for an unconditional generator', async () => {
    const t = await GanTrainer.create(gpu(), null, CONFIG);
    const g = new LoadedGenerator(gpu(), t.G, FASHION);
    expect(g.latentDim).toBe(100);
    const byLabel = await g.sample({ n: 4, seed: 2, label: 7 });
    const byName = await g.sample({ n: 4, seed: 2, label: 'Sneaker' });
    expect(byName).toEqual(byLabel);
    const direct = await (await Sampler.create(gpu(), t.G, 4, undefined, 10)).fromSeed(2, [7, 7, 7, 7]);
    expect(byLabel).toEqual(direct);
    const mixed = await g.sample({ n: 4, seed: 2, label: [7, 'Bag', 0, 7] });
    expect(mixed.subarray(0, 784)).toEqual(byLabel.subarray(0, 784));
    expect(mixed.subarray(784, 1568)).not.toEqual(byLabel.subarray(784, 1568));
    await expect(g.sample({ n: 2, label: 'Hat' })).rejects.toThrow('label: expected a label 0..9 or a class name (T-shirt/top, Trouser');
    await expect(g.sample({ n: 2, label: [1] })).rejects.toThrow('label: expected 2 labels (one per image), found 1');
    const line = await g.interpolate(1, 2, 3, { label: 4 });
    expect(line.length).toBe(3 * 784);
    const plain = new LoadedGenerator(gpu(), (await GanTrainer.create(gpu(), null, { ...CONFIG, conditional: 'none' })).G);
    expect(plain.classes).toBeNull();
    await expect(plain.sample({ n: 2, label: 3 })).rejects.toThrow('label: this generator is unconditional');
  });
});

describe('train --conditional and sample --class', { timeout: 300_000 }, () => {
  it('trains, writes class-per-row grids, samples one class or all, and refuses contradictions and unconditional checkpoints', async () => {
    const out = tmp();
    const small = ['--backend', 'gles', '--batch-size', '8', '--log-every', '1'];
    const r = await run('train', ...small, '--conditional', '--head', 'acgan', '--max-steps', '2', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('model    conditional on 10 classes (acgan head): 0, 1, 2, 3, 4, 5, 6, 7, 8, 9');
    const grid = decodePng(readFileSync(join(out, 'images', 'step_000002.png')));
    expect([grid.width, grid.height]).toEqual([10 * 30 + 2, 10 * 30 + 2]);

    const all = await run('sample', '--backend', 'gles', '--checkpoint', out, '--n', '3', '--out', join(out, 'all.png'));
    expect(all.code, all.err).toBe(0);
    expect(all.out).toContain('30 samples, one row per class: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9');
    expect(decodePng(readFileSync(join(out, 'all.png'))).width).toBe(3 * 30 + 2);
    const seven = await run('sample', '--backend', 'gles', '--checkpoint', out, '--class', '7', '--n', '4', '--out', join(out, 'seven.png'));
    expect(seven.code, seven.err).toBe(0);
    expect(seven.out).toContain('4 samples, class 7 (7)');
    const bad = await run('sample', '--checkpoint', out, '--class', 'eleven');
    expect([bad.code, bad.err.trim().split('\n')[0]]).toEqual([2, 'error: --class: expected all, a label 0..9 or a class name (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), found "eleven"']);

    const other = await run('train', ...small, '--resume', out, '--head', 'projection', '--max-steps', '3');
    expect([other.code, other.err.trim().split('\n')[0]]).toEqual([2, `error: --conditional --head projection contradicts the checkpoint in ${out}, which is conditional with the acgan head`]);
    const resumed = await run('train', ...small, '--resume', out, '--max-steps', '3');
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toContain('(acgan head)');

    const scored = tmp();
    const e = await run('train', ...small, '--conditional', '--max-steps', '2', '--eval-every', '2', '--eval-samples', '20', '--out', scored);
    expect(e.code, e.err).toBe(0);
    const quality = readFileSync(join(scored, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.kind === 'quality');
    expect(quality).toHaveLength(1);
    expect(quality[0].conditional_accuracy).toBeGreaterThanOrEqual(0);
    expect(quality[0].conditional_accuracy).toBeLessThanOrEqual(1);
    expect(quality[0].per_class_accuracy).toHaveLength(10);
    expect(quality[0].per_class_fd).toHaveLength(10);
    // 20 samples, 2 per class: the overall accuracy is the mean of the per-class ones.
    const mean = quality[0].per_class_accuracy.reduce((a: number, b: number) => a + b, 0) / 10;
    expect(Math.abs(quality[0].conditional_accuracy - mean)).toBeLessThan(1e-12);
    expect(e.out).toMatch(/conditional accuracy \d+\.\d%/);

    const plain = tmp();
    expect((await run('train', ...small, '--max-steps', '1', '--out', plain)).code).toBe(0);
    const asked = await run('sample', '--checkpoint', plain, '--class', '3');
    expect(asked.code).toBe(2);
    expect(asked.err).toContain('is an unconditional generator, which cannot be asked for a class (train --conditional makes one that can)');
    const head = await run('train', '--head', 'acgan', '--out', tmp());
    expect([head.code, head.err.trim().split('\n')[0]]).toEqual([2, 'error: --head: only a conditional model has a head; add --conditional']);
  });
});
