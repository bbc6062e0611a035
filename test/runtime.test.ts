import { describe, expect, it } from 'vitest';
import { DEFAULT_CPU_BACKEND, isCpuAdapter, isSwiftShaderAdapter, parseBackend } from '../src/gpu/backend.js';
import { AdapterUnavailableError, DeviceLostError, KernelError } from '../src/gpu/errors.js';
import { requestGpu } from '../src/gpu/gpu.js';
import { hardwareVulkanIcds } from '../src/gpu/adapter-node.js';
import type { Kernel } from '../src/gpu/kernel.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';

const double: Kernel = {
  name: 'test.double',
  code: /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < arrayLength(&x)) { x[gid.x] = 2.0 * x[gid.x]; }
}`,
};

describe('adapter choice', () => {
  it('opens SwiftShader for --backend swiftshader', async () => {
    const gpu = await requestGpu({ backend: 'swiftshader' });
    expect(gpu.backend).toBe('swiftshader');
    expect(gpu.adapter.architecture).toMatch(/swiftshader/i);
    expect(gpu.hasTimestamps).toBe(true);
    gpu.destroy();
  });

  it('tells SwiftShader apart, opened by name or reported by a browser, from llvmpipe and GPUs', () => {
    const info = { vendor: '', architecture: '', device: '', description: '' };
    expect(isSwiftShaderAdapter({ ...info, backend: 'swiftshader' })).toBe(true);
    expect(isSwiftShaderAdapter({ ...info, backend: 'browser', vendor: 'google', architecture: 'swiftshader' })).toBe(true);
    expect(isSwiftShaderAdapter({ ...info, backend: 'gles', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(false);
    expect(isSwiftShaderAdapter({ ...info, backend: 'gpu', vendor: 'nvidia', description: 'NVIDIA H200' })).toBe(false);
  });

  it('opens llvmpipe through OpenGL ES for --backend gles, with raised limits', async () => {
    const gpu = await requestGpu({ backend: 'gles' });
    expect(gpu.backend).toBe('gles');
    expect(`${gpu.adapter.description} ${gpu.adapter.architecture}`).toMatch(/llvmpipe|OpenGL ES/i);
    // Compatibility mode defaults to 128 invocations; we ask for the adapter's real limit.
    expect(gpu.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThan(128);
    gpu.destroy();
  });

  // Which branch runs is decided by the machine, before the call: with a hardware Vulkan driver
  // installed `gpu` must open it; without one it must refuse with the install hint.
  const hasGpuDriver = hardwareVulkanIcds().length > 0;
  it.runIf(hasGpuDriver)('opens a hardware GPU for --backend gpu where a Vulkan driver is installed', async () => {
    const gpu = await requestGpu({ backend: 'gpu' });
    expect(isCpuAdapter(gpu.device.adapterInfo)).toBe(false);
    expect(gpu.isSoftware).toBe(false);
    gpu.destroy();
  });
  it.runIf(!hasGpuDriver)('refuses --backend gpu without a Vulkan driver, saying there is none and what to do', async () => {
    const err = await requestGpu({ backend: 'gpu' }).then(
      (gpu) => (gpu.destroy(), null),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AdapterUnavailableError);
    expect((err as Error).message).toMatch(/no hardware GPU.*--backend swiftshader\|gles/);
  });

  it('falls back from auto to a hardware GPU or the measured default CPU adapter', async () => {
    const gpu = await requestGpu({ backend: 'auto' });
    expect(gpu.backend).toBe(hasGpuDriver ? 'gpu' : DEFAULT_CPU_BACKEND);
    gpu.destroy();
  });

  it('rejects unknown backend names, listing the valid ones', () => {
    expect(() => parseBackend('vulkan')).toThrow('--backend: expected one of auto, gpu, swiftshader, gles, found "vulkan"');
  });
});

describe.each(TEST_BACKENDS)('runtime on %s', (backend) => {
  const gpu = useGpu(backend);

  it('runs a kernel and reads the result back', async () => {
    const x = gpu().tensor('x', [100], 'f32', Array.from({ length: 100 }, (_, i) => i));
    gpu().run([await gpu().prepare(double, [x], [2, 1, 1])]);
    expect([...((await gpu().read(x)) as Float32Array)]).toEqual(Array.from({ length: 100 }, (_, i) => 2 * i));
  });

  it('caches pipelines by source and constants', async () => {
    expect(await gpu().pipeline(double)).toBe(await gpu().pipeline({ ...double }));
  });

  it('throws a WGSL syntax error as an error naming the kernel and the line', async () => {
    const broken: Kernel = { name: 'test.broken', code: double.code.replace('2.0 * x[gid.x]', '2.0 * * x[gid.x]') };
    const err = await gpu().pipeline(broken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).kernel).toBe('test.broken');
    expect((err as Error).message).toMatch(/kernel "test\.broken": WGSL compilation failed\nerror 5:\d+ /);
    // A failed compile is not cached: the next request recompiles and fails the same way.
    await expect(gpu().pipeline(broken)).rejects.toThrow(/test\.broken/);
  });

  it('throws a binding mistake as an error naming the kernel', async () => {
    const tooSmall = gpu().createBuffer('uniform-only', 16, GPUBufferUsage.UNIFORM);
    await expect(gpu().prepare(double, [tooSmall], [1, 1, 1])).rejects.toThrow(/kernel "test\.double": bind group rejected/);
    await expect(gpu().prepare(double, [], [1, 1, 1])).rejects.toThrow(KernelError);
  });

  it('refuses workgroup counts beyond the adapter limit', async () => {
    const x = gpu().tensor('x', [4]);
    await expect(gpu().prepare(double, [x], [70000, 1, 1])).rejects.toThrow(/workgroup counts \[70000, 1, 1\] outside 0\.\.65535/);
  });

  it('rejects a write of the wrong length, naming the tensor and shape', () => {
    const x = gpu().tensor('weights', [2, 3]);
    expect(() => gpu().write(x, [1, 2, 3])).toThrow('write to "weights": expected 6 values for shape [2, 3], found 3');
  });
});

describe.each(TEST_BACKENDS)('device loss on %s', (backend) => {
  it('turns a lost device into DeviceLostError for waiting and new work, never a hang', async () => {
    const gpu = await requestGpu({ backend });
    const x = gpu.tensor('x', [1 << 20]);
    gpu.device.destroy(); // what a driver reset looks like from here
    await expect(gpu.sync()).rejects.toThrow(DeviceLostError);
    await expect(gpu.read(x)).rejects.toThrow(/GPU device lost \(reason: destroyed\)/);
    expect(() => gpu.tensor('y', [4])).toThrow(DeviceLostError);
    gpu.destroy();
  });
});

describe('errors raised on the queue', () => {
  it('surfaces a validation error from a submit at the next sync, naming the buffer', async () => {
    const gpu = await requestGpu({ backend: 'swiftshader' });
    const x = gpu.tensor('doomed', [64]);
    const d = await gpu.prepare(double, [x], [1, 1, 1]);
    x.buffer.destroy();
    gpu.run([d], 'after destroy');
    await expect(gpu.sync('the test')).rejects.toThrow(/GPU validation error during the test: .*Buffer "doomed".* destroyed/);
    gpu.destroy();
  });
});
