import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

function start(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/webgpu-dcgan.js', 'check-data', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('webgpu-dcgan check-data (through the bin)', () => {
  it('prints help listing every flag', () => {
    const r = start('--help');
    expect(r.code).toBe(0);
    for (const flag of ['--backend', '--data', '--batch-size', '--batches', '--seed']) expect(r.out).toContain(flag);
  });

  it('rejects an unknown flag with exit code 2', () => {
    const r = start('--bogus');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/error: Unknown option '--bogus'/);
  });

  it('rejects a non-positive batch size, naming the flag and value', () => {
    const r = start('--batch-size', '0');
    expect(r.code).toBe(2);
    expect(r.err).toContain('error: --batch-size: expected an integer >= 1, found "0"');
  });

  it('rejects a bad backend and a missing data directory', () => {
    expect(start('--backend', 'metal').err).toContain('--backend: expected one of auto, gpu, swiftshader, gles, found "metal"');
    const r = start('--data', '/no/such/dir');
    expect(r.code).toBe(1);
    expect(r.err).toContain('--data: expected mnist, fashion or a directory, found "/no/such/dir"');
  });

  it('loads MNIST onto the GPU and reports a batch', () => {
    const r = start('--backend', 'swiftshader', '--batches', '3');
    expect(r.err).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/adapter  swiftshader/);
    expect(r.out).toMatch(/938 batches\/epoch, last has 32/);
    // MNIST is mostly background (-1): a batch's mean is far below 0.
    expect(r.out).toMatch(/batch 0  n=50176 min=-1\.0000 max=1\.0000 mean=-0\.7\d+/);
  });
});

describe('webgpu-dcgan (the bin)', () => {
  const bin = (...args: string[]) => spawnSync(process.execPath, ['bin/webgpu-dcgan.js', ...args], { encoding: 'utf8', timeout: 120_000 });

  it('prints its version, its commands, and rejects an unknown command with exit code 2', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(bin('--version').stdout.trim()).toBe(pkg.version);
    const help = bin('--help');
    for (const c of ['train', 'sample', 'bench', 'check-data']) expect(help.stdout).toContain(`  ${c} `);
    const bad = bin('fly');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('error: unknown command "fly"');
  });

  it('bench times each --variants row (train flags from the settings table) in one command, and refuses a bad one', () => {
    const r = bin('bench', '--backend', 'gles', '--batch-size', '4', '--steps', '1', '--no-torch', '--tune', 'off', '--json', '--variants', ';--loss hinge --real-label 1');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { adapters: Array<{ adapter: string; ms_per_step: number }> };
    expect(out.adapters.map((a) => a.adapter.replace(/^gles \(.*?\) /, ''))).toEqual(['[reference]', '[--loss hinge --real-label 1]']);
    for (const a of out.adapters) expect(a.ms_per_step).toBeGreaterThan(0);
    const bad = bin('bench', '--variants', '--loss hinj');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('error: --variants: "--loss hinj": --loss: expected one of bce, bce_logits, hinge, found "hinj"');
    expect(bin('bench', '--variants', ';--batch-size 8').stderr).toContain('error: --variants: "--batch-size 8": --batch-size sets the model or batch every row shares; give it to bench itself');
  });

  // Dawn prints two "artificially reduced" warnings from C++ whenever a GLES adapter opens, and
  // a Vulkan start without drivers complains too; users must not see them before our output.
  for (const backend of ['gles', 'swiftshader', 'auto']) {
    it(`prints nothing but its own lines on ${backend}; --verbose shows Dawn's`, () => {
      const r = bin('check-data', '--backend', backend, '--batches', '1');
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout.split('\n')[0]).toMatch(/^data {5}60000 images/);
      if (backend === 'gles') {
        const v = bin('check-data', '--backend', backend, '--batches', '1', '--verbose');
        expect(v.stderr).toMatch(/^dawn: Warning: .*artificially reduced/m);
      }
    });
  }
});
