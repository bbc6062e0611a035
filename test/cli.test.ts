import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function start(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/check-data.ts', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('npm run check-data', () => {
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
