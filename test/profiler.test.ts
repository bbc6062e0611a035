/**
 * The roofline profile: each kernel's FLOP/s and bytes/s as shares of the adapter's roofs (the
 * arithmetic, on made-up dispatches with known answers), the roofs measured once and cached, and
 * `train --profile` printing the table and a Chrome trace that carries the same figures.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../src/image/png.js';
import type { Dispatch } from '../src/gpu/kernel.js';
import { chromeTrace, formatProfileTable, gemmShare, profileTable, type Ceilings, type TimedDispatch } from '../src/gpu/profiler.js';
import type { TuneRecord, TuneStore } from '../src/gpu/tune-store.js';
import { adapterCeilings } from '../src/layers/adapter-ceilings.js';
import { quickMatmulVariants } from '../src/layers/matmul-tuner.js';
import { useGpu } from './helpers/gpu.js';

const timedDispatch = (kernel: string, durUs: number, flops: number | undefined, bytes: number): TimedDispatch => ({
  d: { kernel, flops, bytes } as Dispatch,
  startUs: 0,
  durUs,
});

describe('the roofline arithmetic', () => {
  const roofs: Ceilings = { gemmGflops: 20, gemm: 'block_32x16', copyGBs: 5, cached: false };
  // A GEMM: 2 GFLOP and 1 MB in 0.2 s is 10 GFLOP/s (half the 20 GFLOP/s roof); its bytes need 200 µs at 5 GB/s, its FLOPs 0.1 s.
  // A batch norm: 1 GB in 1 s is 1 GB/s, a fifth of the stream roof; no FLOPs.
  const timed = [timedDispatch('gemm', 100_000, 1e9, 5e5), timedDispatch('gemm', 100_000, 1e9, 5e5), timedDispatch('bn', 1_000_000, undefined, 1e9)];

  it('sets each kernel against the roof that limits it', () => {
    const [bn, gemm] = profileTable(timed, roofs);
    expect(bn).toMatchObject({ kernel: 'bn', calls: 1, gflops: null, bound: 'memory', ofGemm: null });
    expect(bn!.gbs).toBeCloseTo(1, 12);
    expect(bn!.ofCopy).toBeCloseTo(0.2, 12);
    expect(bn!.ofRoofline).toBeCloseTo(0.2, 12);
    expect(gemm).toMatchObject({ kernel: 'gemm', calls: 2, bound: 'compute' });
    expect(gemm!.gflops).toBeCloseTo(10, 12);
    expect(gemm!.ofGemm).toBeCloseTo(0.5, 12);
    expect(gemm!.ofCopy).toBeCloseTo(0.001, 12);
    expect(gemm!.ofRoofline).toBeCloseTo(0.5, 12);
    expect(gemmShare([bn!, gemm!])).toBeCloseTo(200_000 / 1_200_000, 12);
  });

  it('prints the roofline columns only with ceilings, and the trace carries the same figures', () => {
    const withRoofs = formatProfileTable(profileTable(timed, roofs)).split('\n');
    expect(withRoofs[0]).toBe('| kernel | calls | total ms | mean µs | GFLOP/s | GB/s | of GEMM roof | of stream roof | bound | of its roofline | share |');
    expect(withRoofs[2]).toBe('| bn | 1 | 1000.00 | 1000000 | - | 1.00 | - | 20% | memory | 20% | 83% |');
    expect(withRoofs[3]).toBe('| gemm | 2 | 200.00 | 100000 | 10.00 | 0.01 | 50% | 0.1% | compute | 50% | 17% |');
    expect(formatProfileTable(profileTable(timed)).split('\n')[0]).toBe('| kernel | calls | total ms | mean µs | GFLOP/s | GB/s | share |');
    const trace = chromeTrace(timed, roofs) as { traceEvents: Array<{ name: string; args: Record<string, unknown> }>; metadata: Record<string, unknown> };
    expect(trace.traceEvents[0]!.args).toMatchObject({ flops: 1e9, bytes: 5e5, bound: 'compute' });
    expect(trace.traceEvents[0]!.args.of_roofline).toBeCloseTo(0.5, 12);
    expect(trace.traceEvents[2]!.args).toMatchObject({ bytes: 1e9, bound: 'memory' });
    expect(trace.metadata).toEqual({ gemm_roof_gflops: 20, gemm_roof_variant: 'block_32x16', stream_roof_gbs: 5 });
  });
});

describe('the adapter ceilings on gles', () => {
  const gpu = useGpu('gles');

  it('are measured once, stored, and read back without timing', async () => {
    let data: Record<string, TuneRecord> = { other: { variant: 'naive', timings: { naive: 1 }, mode: 'quick' } };
    const store: TuneStore = { where: 'test memory', load: () => structuredClone(data), save: (r) => (data = { ...data, ...structuredClone(r) }) };
    const lines: string[] = [];
    const first = await adapterCeilings(gpu(), { store, log: (l) => lines.push(l) });
    expect(first.cached).toBe(false);
    expect(quickMatmulVariants(gpu())).toContain(first.gemm);
    expect(first.gemmGflops).toBeGreaterThan(0);
    expect(first.copyGBs).toBeGreaterThan(0);
    expect(lines[0]).toMatch(/^ceilings timing this adapter's best GEMM and stream bandwidth, once \(cached in test memory\)/);
    // Every variant timed is reported, and the roof is the fastest of them.
    const timed = lines.slice(1).map((l) => Number(/([\d.]+) GFLOP\/s$/.exec(l)![1]));
    expect(first.gemmGflops.toFixed(1)).toBe(Math.max(...timed).toFixed(1));
    expect(data.other).toBeDefined();

    const count = lines.length;
    const again = await adapterCeilings(gpu(), { store, log: (l) => lines.push(l) });
    expect(again).toEqual({ ...first, cached: true });
    expect(lines.length).toBe(count);
  }, 120_000);
});

describe('train --profile', () => {
  it('prints the roofs, the roofline table and the GEMM share, and writes the trace', () => {
    const out = mkdtempSync(join(tmpdir(), 'dcgan-profile-'));
    const cache = join(out, 'tune.json');
    const args = ['bin/webgpu-dcgan.js', 'train', '--backend', 'gles', '--batch-size', '8', '--max-steps', '1', '--profile', '--out', join(out, 'run')];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 300_000, env: { ...process.env, WEBGPU_DCGAN_TUNE: 'off', WEBGPU_DCGAN_TUNE_CACHE: cache } });
    expect(r.status, r.stderr).toBe(0);
    const dispatches = Number(/profile {2}one step at batch 8 .*: [\d.]+ ms in (\d+) dispatches, [\d.]+% in GEMMs/.exec(r.stdout)![1]);
    expect(r.stdout).toMatch(/^roofs {4}GEMM [\d.]+ GFLOP\/s \(matmul\.\w+, 1024\^3\), stream [\d.]+ GB\/s \(axpy\)$/m);
    const rows = r.stdout.split('\n').filter((l) => /^\| (?!kernel|---)/.test(l));
    // One row per kernel; the calls add up to the dispatches, and every row has a bound.
    expect(rows.reduce((a, l) => a + Number(l.split(' | ')[1]), 0)).toBe(dispatches);
    expect(rows.every((l) => / \| (compute|memory) \| /.test(l))).toBe(true);
    const trace = JSON.parse(readFileSync(join(out, 'run', 'profile.json'), 'utf8')) as { traceEvents: Array<{ args: { bytes?: number; bound?: string } }>; metadata: { gemm_roof_gflops: number } };
    expect(trace.traceEvents).toHaveLength(dispatches);
    expect(trace.traceEvents.every((e) => e.args.bytes! > 0 && e.args.bound)).toBe(true);
    expect(trace.metadata.gemm_roof_gflops).toBeGreaterThan(0);
    // The roofline as a picture beside them.
    expect(r.stdout).toContain(`roofline ${join(out, 'run', 'roofline.png')}`);
    const png = decodePng(new Uint8Array(readFileSync(join(out, 'run', 'roofline.png'))));
    expect([png.width, png.height]).toEqual([720, 440]);
    // The roofs are in the cache: a second profile would not time them again.
    expect(Object.keys(JSON.parse(readFileSync(cache, 'utf8')) as object).some((k) => k.includes('|ceilings '))).toBe(true);
  }, 300_000);
});
