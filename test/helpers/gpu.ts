import { afterAll, beforeAll } from 'vitest';
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

/** Opens `backend` for the enclosing describe block and destroys it afterwards. */
export function useGpu(backend: Backend): () => Gpu {
  let gpu: Gpu | undefined;
  beforeAll(async () => {
    gpu = await requestGpu({ backend });
  });
  afterAll(() => gpu?.destroy());
  return () => {
    if (!gpu) throw new Error(`${backend} was not opened`);
    return gpu;
  };
}
