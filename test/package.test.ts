/**
 * The package as a user gets it: `npm pack`, installed into an empty project, then the CLI
 * through `npx`, the library from a plain Node script, and a page built by Vite that imports the
 * package and runs in headless Chromium. Nothing here reads the repository's sources.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build, preview } from 'vite';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodePng } from '../src/image/png.js';
import { launchChromium } from './helpers/browser.js';

const ROOT = resolve('.');
const project = mkdtempSync(join(tmpdir(), 'dcgan-user-'));
let tarball = { file: '', size: 0, files: [] as string[] };

function sh(cmd: string, args: string[], cwd = project) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

beforeAll(() => {
  // --ignore-scripts: `prepare` would rebuild dist/ (pretest built it from the same sources) while
  // the other worker's tests run the CLI from it, and a half-written module fails their import.
  const packed = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project], ROOT);
  expect(packed.code, packed.err).toBe(0);
  const info = JSON.parse(packed.out.slice(packed.out.indexOf('['))) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>;
  tarball = { file: join(project, info[0]!.filename), size: info[0]!.size, files: info[0]!.files.map((f) => f.path) };
  console.log(`tarball ${info[0]!.filename}: ${(tarball.size / 1024).toFixed(0)} KiB, ${tarball.files.length} files`);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  const install = sh('npm', ['install', tarball.file, '--no-audit', '--no-fund', '--prefer-offline']);
  expect(install.code, install.err).toBe(0);
}, 600_000);

describe('the packed package', () => {
  it('ships only what a user needs, under 3 MiB (the evaluator\'s classifier ~0.9 MB and the shipped conditional generator ~1.6 MB of it)', () => {
    expect(tarball.size).toBeLessThan(3 * 1024 * 1024);
    expect(tarball.files).toContain('models/mnist-classifier.safetensors');
    expect(tarball.files).toContain('models/mnist-conditional-generator.f16.safetensors');
    expect(tarball.files).toContain('dist/index.js');
    expect(tarball.files).toContain('dist/index.d.ts');
    expect(tarball.files).toContain('dist/embed.js');
    expect(tarball.files).toContain('bin/webgpu-dcgan.js');
    expect(tarball.files).toContain('LICENSE');
    for (const f of tarball.files.filter((f) => f.startsWith('models/') === false)) expect(f).not.toMatch(/^(test|src|web)\/|\.safetensors$|\.ts$(?<!\.d\.ts$)/);
  });

  const out = join(project, 'run');
  it('trains and samples through npx with a clean console', () => {
    // --tune off: this checks the package, not the tuner (tuner.test.ts). On gles, whose Dawn
    // warns on every start ("artificially reduced"), so the bin's filter is what keeps the console
    // clean; the Vulkan path's start is checked the same way by cli.test.ts (check-data on
    // swiftshader), without compiling a training step's kernels on SwiftShader (a minute of CPU).
    const train = sh('npx', ['webgpu-dcgan', 'train', '--max-steps', '2', '--batch-size', '8', '--backend', 'gles', '--tune', 'off', '--out', out]);
    expect(train.code, train.err).toBe(0);
    // stderr holds our progress line only: none of Dawn's native warnings.
    expect(train.err).not.toMatch(/Warning|vkCreateInstance|artificially reduced|VK_ERROR/);
    expect(train.err.trim().split('\n').pop()).toMatch(/^epoch 1\/20 batch 2\/7500 .* step 2\/2 /);
    expect(train.out.split('\n')[0]).toMatch(/^adapter  gles/);
    for (const f of ['generator', 'discriminator', 'optimizer'].map((m) => `checkpoints/latest/${m}.safetensors`).concat('images/step_000002.png')) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const sample = sh('npx', ['webgpu-dcgan', 'sample', '--checkpoint', out, '--n', '25', '--seed', '1', '--backend', 'gles', '--out', 'cli.png']);
    expect(sample.code, sample.err).toBe(0);
    expect(statSync(join(project, 'cli.png')).size).toBeGreaterThan(0);
    const scored = sh('npx', ['webgpu-dcgan', 'eval', '--checkpoint', out, '--n', '100', '--backend', 'gles', '--json']);
    expect(scored.code, scored.err).toBe(0);
    expect(JSON.parse(scored.out).histogram.reduce((a: number, b: number) => a + b, 0)).toBe(100);
    expect(sh('npx', ['webgpu-dcgan', '--version']).out.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    // The shipped generator, by name, offline: the sevens the embedding page must draw.
    const sevens = sh('npx', ['webgpu-dcgan', 'sample', '--checkpoint', 'mnist-conditional', '--class', '7', '--n', '25', '--seed', '1', '--backend', 'gles', '--out', 'sevens.png']);
    expect(sevens.code, sevens.err).toBe(0);
    const missing = sh('npx', ['webgpu-dcgan', 'sample', '--checkpoint', 'mnist', '--backend', 'gles']);
    expect(missing.code, missing.err).toBe(2);
    expect(missing.err).toMatch(/--checkpoint: mnist: the shipped generator's file .* is not here \(the npm package carries mnist-conditional only/);
  }, 300_000);

  it('imports in plain Node and samples the same digits as the CLI', () => {
    writeFileSync(
      join(project, 'use.mjs'),
      `import { writeFileSync } from 'node:fs';
import { loadGenerator, encodePng } from 'webgpu-dcgan';
const g = await loadGenerator(${JSON.stringify(out)}, { backend: 'gles' });
await g.sample({ n: 25, seed: 1 });
writeFileSync('lib.png', encodePng(g.grid()));
g.destroy();
console.log('latent', g.latentDim);
`,
    );
    const r = sh(process.execPath, ['use.mjs']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('latent 100');
    expect(readFileSync(join(project, 'lib.png')).equals(readFileSync(join(project, 'cli.png')))).toBe(true);
  });

  it('builds the README\'s snippet into a page with Vite (no Node module in the bundle, the shipped generator an asset) that draws the CLI\'s sevens in Chromium', async () => {
    const site = join(project, 'site');
    mkdirSync(site, { recursive: true });
    copyFileSync(join(ROOT, 'web', 'embed.html'), join(site, 'index.html'));
    const dist = join(site, 'dist');
    await build({ root: site, configFile: false, logLevel: 'warn', build: { outDir: dist, target: 'es2022' } });
    const assets = join(dist, 'assets');
    const bundle = spawnSync('sh', ['-c', `cat ${assets}/*.js`], { encoding: 'utf8' }).stdout;
    expect(bundle).toContain('navigator.gpu');
    expect(bundle).not.toMatch(/dawn\.node|node:fs|from"webgpu"|require\("webgpu"\)/);
    const server = await preview({ root: site, configFile: false, logLevel: 'warn', build: { outDir: dist }, preview: { port: 0, host: '127.0.0.1' } });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(server.resolvedUrls!.local[0]!);
      await page.waitForFunction(() => (document.getElementById('digits') as HTMLCanvasElement).width === 152, undefined, { timeout: 120_000 });
      expect(errors).toEqual([]);
      const shown = await page.evaluate(() => {
        const c = document.getElementById('digits') as HTMLCanvasElement;
        return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
      });
      // Chromium's SwiftShader and dawn.node's GLES adapter differ in the last float bits: 2 levels of 255.
      const expected = decodePng(readFileSync(join(project, 'sevens.png')));
      let worst = 0;
      for (let i = 0; i < expected.width * expected.height; i++) worst = Math.max(worst, Math.abs(shown[4 * i]! - expected.rgb[3 * i]!));
      expect(worst).toBeLessThanOrEqual(2);
    } finally {
      await browser.close();
      await new Promise<void>((r) => server.httpServer.close(() => r()));
    }
  });
});
