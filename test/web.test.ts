/**
 * The web page in real headless Chromium (WebGPU on SwiftShader), against the Node library on
 * SwiftShader: the same seed trains to the same losses, the grid shows the batch, a Node
 * checkpoint samples to the same images in the page, and a browser without WebGPU gets an
 * explanation. Chromium's Dawn and dawn.node differ in version, so floats may differ in the last
 * bits: losses are compared at 1e-4 relative (the parity bound against PyTorch), images at 1e-4
 * absolute (tanh outputs in [-1, 1]) and grid pixels within 2 levels of 255.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelStateDict, serialize } from '../src/model/state-dict.js';
import { makeGrid } from '../src/image/images.js';
import { sampleImages } from '../src/model/sample.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { GanTrainer } from '../src/train/trainer.js';
import { QUICK_ROUTE, QUICK_ROUTE_URL, TEST_CONFIG } from './helpers/config.js';
import { loadImageSet } from '../src/data/files.js';
import { launchChromium } from './helpers/browser.js';
import { makeShapesFolder } from '../scripts/make-shapes.js';
import { loadImageFolder } from '../src/data/folder.js';
import { useGpu } from './helpers/gpu.js';
import { loadGenerator } from '../src/index.js';
import { loadEvaluator } from '../src/eval/classifier-file.js';
import { classifyImageSet, predictedClass } from '../src/eval/classifier.js';

const ARTIFACTS = 'test-artifacts';
let server: PreviewServer;
let url: string;
let browser: Browser;

beforeAll(async () => {
  await build({ configFile: 'vite.config.ts', logLevel: 'warn' });
  server = await preview({ configFile: 'vite.config.ts', preview: { port: 0, host: '127.0.0.1' }, logLevel: 'warn' });
  url = server.resolvedUrls!.local[0]!;
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => server?.httpServer.close(() => r()));
});

// The first training page runs the default route, as a visitor's page does (Node's side the
// quick-compiling route); the others test the page's controls, stores and data on the
// quick-compiling route (QUICK_ROUTE: seconds of compilation instead of about two minutes per
// page on SwiftShader), Node's side with them.
// Tests that train in the page wait up to 240 s for it (SwiftShader compiles the page's plan on a
// shared 2-core machine): their own limit must allow it (the first of them took 274 s and then
// over 300 s on a 2-core EPYC when Node's side also compiled the default route; 186 s since).
const TRAINING_TIMEOUT = 480_000;
/** Node's trainers beside the pages: the quick-compiling route, no timed tuning. */
const NODE_CONFIG = { ...TEST_CONFIG, ...QUICK_ROUTE };

describe('web page', () => {
  const gpu = useGpu('swiftshader');
  const set = loadImageSet('mnist', 'train');

  it('trains live to the same losses as the Node trainer, shows the adapter and the batch grid', async () => {
    const STEPS = 3;
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}?batch=8&seed=3&steps=${STEPS}&autostart=1&logEvery=1&refresh=1&tune=off&shipped=0`);
    await page.waitForFunction(() => (window as any).__dcgan.done || (window as any).__dcgan.error, undefined, { timeout: 240_000 });
    const state = await page.evaluate(() => (window as any).__dcgan);
    expect(state.error, state.error).toBeUndefined();
    expect(errors).toEqual([]);
    expect(state.adapter).toMatch(/swiftshader/i);
    expect(await page.textContent('#status')).toMatch(/swiftshader/i);
    expect(await page.textContent('#step')).toBe(String(STEPS));
    // D's mean outputs beside the losses, with their own chart.
    expect(await page.textContent('#d-x')).toBe(state.losses[STEPS - 1].dx.toFixed(4));
    expect(await page.textContent('#d-g-z')).toMatch(/^0\.\d{4}$/);

    // Node's side runs the quick-compiling route: the page's default-route kernels are checked
    // against other kernels' float32 sums, without compiling the default route a second time
    // (about two minutes on SwiftShader). Measured: the losses differ by at most 4e-7 relative
    // over the 3 steps and the grids by 1 level in 255, so 1e-4 and 2 levels leave a wide margin.
    const trainer = await GanTrainer.create(gpu(), set, { ...NODE_CONFIG, batchSize: 8, seed: 3 });
    let plan = null;
    for (let s = 0; s < STEPS; s++) {
      plan = await trainer.step();
      const node = await trainer.stats(plan);
      const web = state.losses[s];
      expect(web.step).toBe(s + 1);
      expect(Math.abs(web.d - node.dLoss) / node.dLoss, `d_loss step ${s + 1}: web ${web.d}, node ${node.dLoss}`).toBeLessThan(1e-4);
      expect(Math.abs(web.g - node.gLoss) / node.gLoss, `g_loss step ${s + 1}: web ${web.g}, node ${node.gLoss}`).toBeLessThan(1e-4);
    }
    // The grid canvas shows the last fake batch, as the Node side draws it.
    const fake = (await gpu().read(plan!.fake)) as Float32Array;
    const expected = makeGrid(fake, 8, [1, 28, 28]);
    const shown = await page.evaluate(() => {
      const c = document.getElementById('grid') as HTMLCanvasElement;
      return { w: c.width, h: c.height, data: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data) };
    });
    expect([shown.w, shown.h]).toEqual([expected.width, expected.height]);
    let worst = 0;
    for (let i = 0; i < expected.width * expected.height; i++) worst = Math.max(worst, Math.abs(shown.data[4 * i]! - expected.rgb[3 * i]!));
    expect(worst).toBeLessThanOrEqual(2);

    // "Profile one step": one more real step, every dispatch timed, shown as the CLI's table.
    await page.click('#profile');
    await page.waitForFunction(() => (window as any).__dcgan.profile, undefined, { timeout: 240_000 });
    const profile = await page.evaluate(() => (window as any).__dcgan.profile as Array<{ kernel: string; calls: number; share: number; bound?: string; ofRoofline?: number }>);
    expect(profile.some((r) => r.kernel.startsWith('matmul.'))).toBe(true);
    expect(profile.reduce((a, r) => a + r.share, 0)).toBeCloseTo(1, 6);
    expect(await page.locator('#profile-table tbody tr').count()).toBe(profile.length);
    // The roofline: every row is set against the adapter's roofs, measured in the page.
    expect(profile.every((r) => (r.bound === 'compute' || r.bound === 'memory') && r.ofRoofline! > 0)).toBe(true);
    expect(await page.locator('#profile-table thead th').allTextContents()).toContain('of its roofline');
    // ... and as a picture beside it (src/image/roofline.ts, as train --profile's roofline.png).
    expect(await page.evaluate(() => { const c = document.getElementById('roofline') as HTMLCanvasElement; return [c.hidden, c.width, c.height]; })).toEqual([false, 720, 440]);
    expect(await page.textContent('#step')).toBe(String(STEPS + 1));
    expect(await page.textContent('#profile-status')).toMatch(/Step 4 at batch 8: [\d.]+ ms in \d+ dispatches, [\d.]+% in GEMMs .*Roofs: GEMM [\d.]+ GFLOP\/s/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'web-after-training.png'), fullPage: true });
    await page.close();
  }, TRAINING_TIMEOUT);

  it('on a lost GPU device stops with a clear error, keeps the last checkpoint downloadable and, after a reload, resumes it from IndexedDB', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}?batch=8&seed=3&autostart=1&logEvery=1&refresh=1&checkpointEvery=2&tune=off&shipped=0&${QUICK_ROUTE_URL}`);
    await page.waitForFunction(() => ((window as any).__dcgan.savedStep ?? 0) >= 2, undefined, { timeout: 240_000 });
    await page.evaluate(() => (window as any).__dcganTest.loseDevice());
    await page.waitForFunction(() => (window as any).__dcgan.error, undefined, { timeout: 60_000 });
    const state = await page.evaluate(() => (window as any).__dcgan);
    expect(errors).toEqual([]);
    expect(state.error).toMatch(/^Training stopped: GPU device lost \(reason: destroyed\).*The last checkpoint \(step \d+\) is kept/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-g')]);
    const bytes = new Uint8Array(readFileSync((await download.path())!));
    const ckpt = parseSafetensors(bytes, 'downloaded generator');
    expect(Number(ckpt.metadata.step)).toBe(state.savedStep);
    expect(ckpt.tensors.get('model.0.weight')!.shape).toEqual([6272, 100]);

    // The checkpoint was also kept in IndexedDB: a reload (a new device) offers it. The URL's
    // settings apply to it as flags to --resume: a contradicting one is refused, naming both values...
    const saved = state.savedStep as number;
    const resumeFrom = async (params: string) => {
      await page.goto(`${url}?batch=8&seed=3&logEvery=1&refresh=1&steps=${saved + 1}&tune=off&shipped=0&${QUICK_ROUTE_URL}&${params}`);
      await page.waitForFunction(() => (window as any).__dcgan.storedStep !== undefined, undefined, { timeout: 120_000 });
      expect(await page.evaluate(() => (window as any).__dcgan.storedStep)).toBe(saved);
      expect(await page.textContent('#stored-status')).toContain(`a run at step ${saved}`);
      await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('#stored-resume')!.disabled, undefined, { timeout: 60_000 });
      await page.click('#stored-resume');
      await page.waitForFunction(() => (window as any).__dcgan.done || (window as any).__dcgan.error, undefined, { timeout: 240_000 });
      return page.evaluate(() => (window as any).__dcgan);
    };
    const refused = await resumeFrom('lr=0.0004');
    expect(refused.error).toBe('Could not build the training plan: URL parameter lr=0.0004 contradicts the stored run, which has 0.0002');
    // ... one a resumed run may change applies (the epochs, in the trainer's config that its
    // download carries), and it resumes exactly.
    const resumed = await resumeFrom('epochs=7&checkpointEvery=1');
    expect(resumed.error, resumed.error).toBeUndefined();
    expect(resumed.resumedStep).toBe(saved);
    expect(resumed.step).toBe(saved + 1);
    await page.waitForFunction((s) => (window as any).__dcgan.savedStep === s, saved + 1, { timeout: 60_000 });
    const [next] = await Promise.all([page.waitForEvent('download'), page.click('#download-g')]);
    expect(parseSafetensors(new Uint8Array(readFileSync((await next.path())!)), 'downloaded generator').metadata).toMatchObject({ step: String(saved + 1), epochs: '7' });
    // The resumed step's losses are the uninterrupted run's (the Node trainer, same seed and batch).
    const trainer = await GanTrainer.create(gpu(), set, { ...NODE_CONFIG, batchSize: 8, seed: 3 });
    let node = null;
    for (let s = 0; s <= saved; s++) node = await trainer.stats(await trainer.step());
    const web = resumed.losses.find((p: { step: number }) => p.step === saved + 1);
    expect(Math.abs(web.d - node!.dLoss) / node!.dLoss, `d_loss step ${saved + 1}: web ${web.d}, node ${node!.dLoss}`).toBeLessThan(1e-4);
    expect(Math.abs(web.g - node!.gLoss) / node!.gLoss, `g_loss step ${saved + 1}: web ${web.g}, node ${node!.gLoss}`).toBeLessThan(1e-4);
    // Forgotten on request.
    await page.click('#stored-clear');
    await page.waitForFunction(() => document.querySelector('#stored-status')!.textContent!.includes('No checkpoint saved'), undefined, { timeout: 30_000 });
    expect(errors).toEqual([]);
    await page.close();
  }, TRAINING_TIMEOUT);

  it('shows a bad URL parameter with the library\'s message and starts nothing', async () => {
    const cases: Array<[string, string]> = [
      ['batch=-1', 'batch: expected an integer >= 1, found "-1"'],
      ['batch=abc', 'batch: expected an integer >= 1, found "abc"'],
      ['steps=1e99', 'steps: expected an integer >= 1, found "1e99"'],
      // A training setting, read by its row of src/train/settings.ts under its flag's name.
      ['lr-d=fast', 'lr-d: expected a number > 0, found "fast"'],
      ['loss=mse', 'loss: expected one of bce, bce_logits, hinge, found "mse"'],
    ];
    const page = await browser.newPage();
    for (const [query, message] of cases) {
      await page.goto(`${url}?${query}&autostart=1&tune=off`);
      await page.waitForFunction(() => (window as any).__dcgan.error, undefined, { timeout: 60_000 });
      expect(await page.textContent('#status')).toBe(`Bad URL parameter: ${message}`);
      expect(await page.evaluate(() => (window as any).__dcgan.step)).toBe(0);
      expect(await page.isDisabled('#start')).toBe(true);
    }
    await page.close();
  });

  it('shows a hostile or truncated checkpoint file as an error in the page and keeps working', async () => {
    const trainer = await GanTrainer.create(gpu(), set, { ...TEST_CONFIG, batchSize: 8, seed: 5 });
    const good = serialize(await modelStateDict(gpu(), trainer.G, 0), {});
    const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
    const files: Array<[string, Uint8Array, RegExp]> = [
      ['truncated.safetensors', good.subarray(0, good.length - 1000), /truncated\.safetensors: tensor .* needs \d+ bytes/],
      ['null-header.safetensors', Uint8Array.from([4, 0, 0, 0, 0, 0, 0, 0, 110, 117, 108, 108]), /header must be a JSON object, found null/],
      ['huge-header.safetensors', Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 1, 123, 125]), /header length \d+ exceeds the format's limit/],
    ];
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}?shipped=0`);
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('#ckpt-load')!.disabled, undefined, { timeout: 120_000 });
    for (const [name, bytes, message] of files) {
      writeFileSync(join(dir, name), bytes);
      await page.setInputFiles('#ckpt-file', join(dir, name));
      await page.waitForFunction((n) => document.querySelector('#ckpt-status')!.textContent!.includes(`Could not load ${n}`), name, { timeout: 60_000 });
      expect(await page.textContent('#ckpt-status')).toMatch(message);
    }
    // Still working: a good file loads and draws.
    writeFileSync(join(dir, 'good.safetensors'), good);
    await page.setInputFiles('#ckpt-file', join(dir, 'good.safetensors'));
    await page.waitForFunction(() => (window as any).__dcgan.samples, undefined, { timeout: 120_000 });
    expect(await page.textContent('#ckpt-status')).toContain('Loaded good.safetensors');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('samples a Node checkpoint to the same images as the Node library', async () => {
    const trainer = await GanTrainer.create(gpu(), set, { ...NODE_CONFIG, batchSize: 8, seed: 5 });
    await trainer.step();
    await trainer.step();
    const file = join(mkdtempSync(join(tmpdir(), 'ckpt-')), 'generator.safetensors');
    writeFileSync(file, serialize(await modelStateDict(gpu(), trainer.G, trainer.globalStep), {}));
    const node = await sampleImages(gpu(), trainer.G, 25, 7);

    const page = await browser.newPage();
    await page.goto(`${url}?shipped=0`);
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('#ckpt-load')!.disabled, undefined, { timeout: 120_000 });
    await page.fill('#sample-seed', '7');
    await page.setInputFiles('#ckpt-file', file);
    await page.waitForFunction(() => (window as any).__dcgan.samples, undefined, { timeout: 120_000 });
    const web = await page.evaluate(() => Array.from((window as any).__dcgan.samples as Float32Array));
    expect(web.length).toBe(node.length);
    let worst = 0;
    for (let i = 0; i < node.length; i++) worst = Math.max(worst, Math.abs(web[i]! - node[i]!));
    expect(worst).toBeLessThan(1e-4);
    expect(await page.textContent('#ckpt-status')).toContain('Loaded generator.safetensors');
    await page.close();
  });

  it('trains a conditional model live, saying what it builds, and draws the class a button asks for as the Node library does', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}?batch=8&seed=4&steps=2&autostart=1&refresh=1&tune=off&conditional=projection&shipped=0&${QUICK_ROUTE_URL}`);
    await page.waitForFunction(() => (window as any).__dcgan.done || (window as any).__dcgan.error, undefined, { timeout: 240_000 });
    const state = await page.evaluate(() => (window as any).__dcgan);
    expect(state.error, state.error).toBeUndefined();
    // Plan building reported kernel by kernel, then its total.
    const building = (state.statusLog as string[]).filter((l) => l.startsWith('Building the training plan: compiling kernel'));
    expect(building.length).toBeGreaterThan(5);
    expect(building[0]).toMatch(/^Building the training plan: compiling kernel 1( of \d+)? \(/);
    expect(state.statusLog).toContainEqual(expect.stringMatching(/Training plan built \(\d+ kernels, \d+ s\)/));
    expect(await page.textContent('#grid-caption')).toContain('one row per class (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)');
    expect(await page.evaluate(() => (document.getElementById('grid') as HTMLCanvasElement).height)).toBe(10 * 30 + 2);

    // The page's generator is the Node trainer's after the same two steps: class 7 through its button.
    await page.click('#use-trained');
    await page.waitForFunction(() => !document.getElementById('classes')!.hidden, undefined, { timeout: 120_000 });
    await page.click('#class-7');
    await page.waitForFunction(() => (window as any).__dcgan.drawnLabel === 7, undefined, { timeout: 120_000 });
    const web = await page.evaluate(() => Array.from((window as any).__dcgan.samples as Float32Array));
    const trainer = await GanTrainer.create(gpu(), set, { ...NODE_CONFIG, batchSize: 8, seed: 4, conditional: 'projection' });
    await trainer.step();
    await trainer.step();
    const node = await sampleImages(gpu(), trainer.G, 25, 0, { classes: 10, labels: new Array(25).fill(7) });
    // Two steps trained apart (the page's Dawn and dawn.node round differently, losses agree to
    // 1e-4): Adam moves a few near-zero-gradient weights by up to lr per step on one side only, so
    // images agree to 1e-3 here, not the 1e-4 of one checkpoint sampled on both sides.
    let worst = 0;
    for (let i = 0; i < node.length; i++) worst = Math.max(worst, Math.abs(web[i]! - node[i]!));
    expect(worst).toBeLessThan(1e-3);
    expect(await page.textContent('#ckpt-status')).toContain('conditional on 10 classes');
    expect(errors).toEqual([]);
    await page.close();
  }, TRAINING_TIMEOUT);

  it('trains live on a picked folder of images at 32x32 in colour, loaded exactly as Node loads it, to the Node trainer\'s losses', async () => {
    // PNG only: the browser's PNG decoder and pngjs give the same pixels (JPEG decoders differ).
    const folder = join(mkdtempSync(join(tmpdir(), 'dcgan-page-')), 'shapes');
    makeShapesFolder(folder, { perClass: 4 });
    for (const f of readdirSync(folder, { recursive: true }) as string[]) if (f.endsWith('.jpg')) rmSync(join(folder, f));
    const node = await loadImageFolder(folder, { size: 32 });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}?batch=4&seed=5&steps=2&logEvery=1&refresh=1&tune=off&shipped=0&${QUICK_ROUTE_URL}`);
    await page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled, undefined, { timeout: 120_000 });
    await page.setInputFiles('#folder', folder);
    await page.selectOption('#arch', 'reference-32');
    await page.click('#start');
    await page.waitForFunction(() => (window as any).__dcgan.done || (window as any).__dcgan.error, undefined, { timeout: 240_000 });
    const state = await page.evaluate(() => (window as any).__dcgan);
    expect(state.error, state.error).toBeUndefined();
    expect(errors).toEqual([]);
    let checksum = 0;
    for (let i = 0; i < node.set.pixels.length; i++) checksum = (checksum * 31 + node.set.pixels[i]!) >>> 0;
    expect(state.data).toEqual({ source: 'shapes', count: node.set.count, channels: 3, size: 32, classNames: ['circle', 'square', 'triangle'], bad: 0, checksum });
    expect(state.statusLog).toContainEqual(expect.stringMatching(/^Images: \d+ RGB from shapes, 3 classes \(circle \d+, square \d+, triangle \d+\), resized to 32x32/));
    // The grid is in colour and of 32x32 images.
    const grid = await page.evaluate(() => {
      const c = document.getElementById('grid') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let colour = false;
      for (let i = 0; i < d.length; i += 4) colour ||= d[i] !== d[i + 1] || d[i + 1] !== d[i + 2];
      return { width: c.width, colour };
    });
    expect(grid).toEqual({ width: 4 * 34 + 2, colour: true });
    const trainer = await GanTrainer.create(gpu(), { ...node.set, source: 'shapes' }, { ...NODE_CONFIG, batchSize: 4, seed: 5, imageSize: 32, channels: 3 });
    for (let s = 0; s < 2; s++) {
      const ours = await trainer.stats(await trainer.step());
      const web = state.losses[s];
      expect(Math.abs(web.d - ours.dLoss) / Math.abs(ours.dLoss), `d_loss step ${s + 1}`).toBeLessThan(1e-4);
      expect(Math.abs(web.g - ours.gLoss) / Math.abs(ours.gLoss), `g_loss step ${s + 1}`).toBeLessThan(1e-4);
    }
    await page.close();
  }, TRAINING_TIMEOUT);

  it("runs the README's embedding snippet as written (web/embed.html): sevens from the shipped generator, as Node draws them", async () => {
    const shipped = await loadGenerator('mnist-conditional', { gpu: gpu() });
    await shipped.sample({ n: 25, seed: 1, label: 7 });
    const expected = shipped.grid();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}embed.html`);
    await page.waitForFunction(() => (document.getElementById('digits') as HTMLCanvasElement).width === 152, undefined, { timeout: 120_000 });
    expect(errors).toEqual([]);
    const shown = await page.evaluate(() => {
      const c = document.getElementById('digits') as HTMLCanvasElement;
      return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
    });
    let worst = 0;
    for (let i = 0; i < expected.width * expected.height; i++) worst = Math.max(worst, Math.abs(shown[4 * i]! - expected.rgb[3 * i]!));
    expect(worst).toBeLessThanOrEqual(2);
    await page.close();
  });

  it('draws digits on opening, before and without training, from the shipped generator: a digit button draws that digit', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => (window as any).__dcgan.shippedAt, undefined, { timeout: 120_000 });
    const opened = await page.evaluate(() => ({ at: (window as any).__dcgan.shippedAt as number, step: (window as any).__dcgan.step as number }));
    console.log(`web      first digits ${(opened.at / 1000).toFixed(1)} s after opening (SwiftShader, headless Chromium)`);
    expect(opened.step).toBe(0);
    expect(await page.textContent('#ckpt-status')).toContain('Loaded the shipped conditional MNIST generator (latent 100, conditional on 10 classes)');
    await page.click('#class-3');
    await page.waitForFunction(() => (window as any).__dcgan.drawnLabel === 3, undefined, { timeout: 60_000 });
    const samples = Float32Array.from(await page.evaluate(() => Array.from((window as any).__dcgan.samples as Float32Array)));
    // The evaluator's classifier (models/mnist-classifier.safetensors) reads the page's 25 samples as digits.
    const pixels = Uint8Array.from(samples, (v) => Math.round(Math.min(1, Math.max(0, (v + 1) / 2)) * 255));
    const evaluator = loadEvaluator(gpu());
    const { probs, n } = await classifyImageSet(gpu(), evaluator.model, { count: 25, channels: 1, height: 28, width: 28, pixels, labels: new Uint8Array(25), source: 'the page' });
    const threes = Array.from({ length: n }, (_, i) => predictedClass(probs, i, 10)).filter((c) => c === 3).length;
    expect(threes).toBeGreaterThanOrEqual(20);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('explains what to do when WebGPU is unavailable, instead of a blank page', async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('#status')!.classList.contains('error'), undefined, { timeout: 60_000 });
    const text = await page.textContent('#status');
    expect(text).toContain('WebGPU is not available');
    expect(text).toContain('--enable-unsafe-webgpu');
    await page.close();
  });
});
