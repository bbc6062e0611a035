/**
 * Training on an image folder as a user does (the CLI's commands, run in this worker on its
 * shared devices: test/helpers/cli.ts): a
 * generated folder of coloured shapes in class subfolders (scripts/make-shapes.ts), mixed sizes
 * and modes; the reference pair at 32x32 in colour trains, checkpoints, resumes exactly and
 * samples in colour on both CPU adapters; dcgan64 and a conditional run on the folder's classes;
 * and the refusals that keep a run from starting on the wrong data.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../src/image/png.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { makeShapesFolder, SHAPES } from '../scripts/make-shapes.js';
import { TEST_BACKENDS } from './helpers/gpu.js';
import { cliInProcess } from './helpers/cli.js';

const run = cliInProcess;

const tmp = () => mkdtempSync(join(tmpdir(), 'dcgan-folder-run-'));
const folder = tmp();
makeShapesFolder(folder, { perClass: 8 });
const latest = (dir: string, file: string) => join(dir, 'checkpoints', 'latest', `${file}.safetensors`);
const meta = (dir: string, file = 'generator') => parseSafetensors(new Uint8Array(readFileSync(latest(dir, file))), file).metadata;

/** A picture holds colour: some pixel whose R, G and B differ. */
const coloured = (png: string) => {
  const { rgb } = decodePng(new Uint8Array(readFileSync(png)));
  return rgb.some((v, i) => i % 3 === 0 && (v !== rgb[i + 1] || v !== rgb[i + 2]));
};

describe.each(TEST_BACKENDS)('training on an image folder on %s', (backend) => {
  const common = ['--data', folder, '--image-size', '32', '--batch-size', '8', '--backend', backend, '--log-every', '1'];

  it('trains the reference pair at 32x32 in colour, resumes exactly, and samples in colour', async () => {
    const straight = tmp();
    const a = await run('train', ...common, '--max-steps', '3', '--out', straight);
    expect(a.code, a.err).toBe(0);
    expect(a.out).toContain(`data     24 images RGB 32x32 from ${folder} (3 classes)`);
    expect(a.out).toMatch(/warning  \d+ images are smaller than 32 px on the shorter side and upscaled/);
    expect(a.out).toContain('skipped  1 file that is not .png, .jpg or .jpeg');
    expect(meta(straight)).toMatchObject({ arch: 'reference', channels: '3', image_size: '32' });
    const split = tmp();
    expect((await run('train', ...common, '--max-steps', '2', '--out', split)).code).toBe(0);
    const b = await run('train', '--backend', backend, '--resume', split, '--max-steps', '3', '--log-every', '1');
    expect(b.code, b.err).toBe(0);
    for (const f of ['generator', 'discriminator', 'optimizer']) {
      expect(readFileSync(latest(split, f)).equals(readFileSync(latest(straight, f))), `${f} after resume`).toBe(true);
    }
    // 3 batches of 8: step 3 ends epoch 1.
    expect(coloured(join(straight, 'images', 'epoch_001.png'))).toBe(true);
    const png = join(straight, 'samples.png');
    const s = await run('sample', '--checkpoint', straight, '--out', png, '--n', '4', '--backend', backend, '--individual', join(straight, 'one'));
    expect(s.code, s.err).toBe(0);
    expect(decodePng(new Uint8Array(readFileSync(png))).width).toBe(4 * (32 + 2) + 2);
    expect(coloured(png)).toBe(true);
    const one = decodePng(new Uint8Array(readFileSync(join(straight, 'one', 'sample_000.png'))));
    expect([one.width, one.height]).toEqual([32, 32]);
  }, 600_000);
});

describe('image folders on gles', { timeout: 300_000 }, () => {
  const common = ['--data', folder, '--batch-size', '4', '--backend', 'gles'];

  it('trains pytorch/examples\' dcgan64 on it (nz, ngf, ndf recorded) and samples 64x64 colour images', async () => {
    const out = tmp();
    const r = await run('train', ...common, '--arch', 'dcgan64', '--ngf', '8', '--ndf', '8', '--nz', '16', '--max-steps', '2', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('model    dcgan64: nz 16, ngf 8, ndf 8, 3 channels');
    expect(meta(out)).toMatchObject({ arch: 'dcgan64', channels: '3', image_size: '64', ngf: '8', ndf: '8', latent_dim: '16', init: 'dcgan' });
    expect([...parseSafetensors(new Uint8Array(readFileSync(latest(out, 'generator'))), 'g').tensors.keys()]).toContain('main.12.weight');
    const png = join(out, 's.png');
    expect((await run('sample', '--checkpoint', out, '--out', png, '--n', '2', '--backend', 'gles')).code).toBe(0);
    expect(decodePng(new Uint8Array(readFileSync(png))).height).toBe(64 + 4);
  });

  it('trains the dcgan family\'s 128-pixel member, conditional on the class folders, and samples a class at 128x128', async () => {
    const out = tmp();
    const r = await run('train', ...common, '--arch', 'dcgan', '--image-size', '128', '--ngf', '4', '--ndf', '4', '--nz', '16', '--conditional', '--max-steps', '2', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('model    dcgan: nz 16, ngf 4, ndf 4, 3 channels');
    expect(meta(out)).toMatchObject({ arch: 'dcgan', channels: '3', image_size: '128', ngf: '4', ndf: '4', conditional: 'projection' });
    // One stride-2 block more than at 64: G's last layer is main.15, from 16 x ngf channels at 4x4.
    const G = parseSafetensors(new Uint8Array(readFileSync(latest(out, 'generator'))), 'g').tensors;
    expect(G.get('main.0.weight')!.shape).toEqual([16 + SHAPES.length, 64, 4, 4]);
    expect(G.get('main.15.weight')!.shape).toEqual([4, 3, 4, 4]);
    const png = join(out, 's.png');
    const s = await run('sample', '--checkpoint', out, '--class', 'circle', '--n', '2', '--out', png, '--backend', 'gles');
    expect(s.code, s.err).toBe(0);
    expect(decodePng(new Uint8Array(readFileSync(png))).height).toBe(128 + 4);
  });

  it('trains a conditional pair on the class folders and samples one class by its folder name', async () => {
    const out = tmp();
    const r = await run('train', ...common, '--image-size', '28', '--channels', '1', '--conditional', '--max-steps', '1', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`model    conditional on 3 classes (projection head): ${SHAPES.join(', ')}`);
    expect(JSON.parse(meta(out).class_names!)).toEqual([...SHAPES]);
    expect(meta(out).channels).toBeUndefined(); // grey 28x28: the reference's shape, whose metadata says nothing
    const s = await run('sample', '--checkpoint', out, '--class', 'triangle', '--n', '3', '--out', join(out, 't.png'), '--backend', 'gles');
    expect(s.code, s.err).toBe(0);
    expect(s.out).toContain('class 2 (triangle)');
  });

  it('--recipe classes trains the conditional pair on the improved settings; a folder without classes is refused, naming what asked', async () => {
    const out = tmp();
    const r = await run('train', ...common, '--image-size', '28', '--channels', '1', '--recipe', 'classes', '--max-steps', '1', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`model    conditional on 3 classes (projection head): ${SHAPES.join(', ')}`);
    expect(meta(out)).toMatchObject({ conditional: 'projection', lr: '0.0004', lr_d: '0.0001', init: 'dcgan', real_label: '0.9' });
    // One class folder alone: its images, and no classes beneath.
    const flat = join(folder, SHAPES[0]);
    for (const [args, asker] of [[['--recipe', 'classes'], '--recipe classes (a conditional model)'], [['--conditional'], '--conditional']] as const) {
      const bad = await run('train', '--data', flat, '--batch-size', '4', '--backend', 'gles', '--image-size', '28', '--channels', '1', ...args, '--max-steps', '1', '--out', tmp());
      expect(bad.code).not.toBe(0);
      expect(bad.err).toContain(`error: ${flat}: ${asker} needs at least 2 classes (class subfolders); found 1`);
    }
  });

  it('refuses contradictions and data the evaluator cannot score, before training anything', async () => {
    const out = tmp();
    const bad = [
      [['--ngf', '8'], '--ngf: only the dcgan model has that width; add --arch dcgan'],
      [['--image-size', '64'], 'image size: the reference model is built for 28 or 32 pixels, found 64'],
      [['--arch', 'dcgan64', '--image-size', '32'], 'image size: the dcgan64 model is built for 64 pixels, found 32'],
      [['--arch', 'dcgan', '--image-size', '48'], 'image size: the dcgan model is built for 32, 64, 128 or 256 pixels, found 48'],
      [['--arch', 'dcgan', '--image-size', '100000'], 'image size: the dcgan model is built for 32, 64, 128 or 256 pixels, found 100000'],
      [['--channels', '2'], '--channels: expected one of 1, 3, found "2"'],
      [['--eval-every', '10'], '--eval-every: the MNIST classifier (the default --evaluator) scores 1x28x28 images; this run trains on an image folder at 3x28x28 (train-classifier --data DIR --image-size 28 --channels 3 --out FILE makes an evaluator for it)'],
      [['--nz', '10', '--latent-dim', '20'], '--nz 10 contradicts --latent-dim 20: they are one setting'],
    ] as const;
    for (const [flags, message] of bad) {
      const r = await run('train', ...common, ...flags, '--out', out);
      expect(r.code, flags.join(' ')).not.toBe(0);
      expect(r.err, flags.join(' ')).toContain(message);
    }
    expect(existsSync(join(out, 'checkpoints'))).toBe(false);
  });

  it('names a corrupt image and trains without it, or with --strict-data refuses the folder and saves nothing', async () => {
    const dir = tmp();
    makeShapesFolder(dir, { perClass: 2 });
    writeFileSync(join(dir, 'square', 'cut.png'), readFileSync(join(dir, 'square', 'square_000.rgba.png')).subarray(0, 60));
    const out = tmp();
    const r = await run('train', '--data', dir, '--batch-size', '2', '--backend', 'gles', '--max-steps', '1', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('warning  1 image skipped (--strict-data refuses them instead):');
    expect(r.out).toContain(`${join(dir, 'square', 'cut.png')}: corrupt PNG:`);
    const strict = tmp();
    const s = await run('train', '--data', dir, '--strict-data', '--batch-size', '2', '--backend', 'gles', '--out', strict);
    expect(s.code).toBe(1);
    expect(s.err).toContain(`${join(dir, 'square', 'cut.png')}: corrupt PNG:`);
    expect(existsSync(join(strict, 'checkpoints'))).toBe(false);
  });

  it('check-data reports classes, sizes, modes and what was skipped', async () => {
    const r = await run('check-data', '--data', folder, '--image-size', '32', '--batch-size', '8', '--batches', '2', '--backend', 'gles');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('data     24 images 3x32x32');
    expect(r.out).toContain('classes  3: circle 8, square 8, triangle 8');
    expect(r.out).toMatch(/sizes    \d+ distinct, smallest \d+x\d+, largest \d+x\d+/);
    expect(r.out).toMatch(/modes    .*JPEG colour \d+/);
    expect(r.out).toContain('channels 3 (colour found); resized to 32x32');
  });

  it('eval refuses a colour generator with the reason', async () => {
    const out = tmp();
    expect((await run('train', '--data', folder, '--batch-size', '8', '--backend', 'gles', '--max-steps', '1', '--out', out)).code).toBe(0);
    const r = await run('eval', '--checkpoint', out, '--backend', 'gles', '--n', '100');
    expect(r.code).toBe(1);
    expect(r.err).toContain('a generator of 3x28x28 images (channels x height x width); the MNIST classifier scores 1x28x28 images (train-classifier --data DIR --image-size N --channels C makes an evaluator for other images)');
  });
});
