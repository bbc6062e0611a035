import { beforeAll } from 'vitest';
import { parseBackend, type Backend } from '../../src/gpu/backend.js';
import { requestGpu, type Gpu } from '../../src/gpu/gpu.js';

/**
 * The adapters GPU tests run on: both CPU adapters, always (a missing one fails the run with the
 * install command in its message; scripts/setup.sh installs both). WEBGPU_DCGAN_TEST_BACKENDS
 * (comma-separated, e.g. `gpu,gles,swiftshader`) replaces the list: on a GPU machine
 * `npm run gpu-check` runs the parity tests on `gpu`.
 */
export const TEST_BACKENDS: Backend[] = (process.env.WEBGPU_DCGAN_TEST_BACKENDS ?? 'swiftshader,gles')
  .split(',')
  .map((b) => parseBackend(b.trim(), 'WEBGPU_DCGAN_TEST_BACKENDS'));

/**
 * One device per adapter for the whole test worker: test files share a worker's module state
 * (vitest.config.ts, isolate: false), so a kernel compiled for one file is in the pipeline cache
 * for the next (SwiftShader compiles each pipeline for up to seconds). Tests that lose or
 * destroy a device open their own with requestGpu.
 */
const shared = new Map<Backend, Promise<Gpu>>();

/** The worker's shared device on `backend`, opened on first use. */
export function sharedGpu(backend: Backend): Promise<Gpu> {
  let opened = shared.get(backend);
  if (!opened) shared.set(backend, (opened = requestGpu({ backend, borrow: false })));
  return opened;
}

/** The shared device on `backend`, opened on first use. */
export function useGpu(backend: Backend): () => Gpu {
  let gpu: Gpu | undefined;
  beforeAll(async () => {
    gpu = await sharedGpu(backend);
    if (gpu.isLost) throw new Error(`the shared ${backend} device was lost by an earlier test`);
  });
  return () => {
    if (!gpu) throw new Error(`${backend} was not opened`);
    return gpu;
  };
}
