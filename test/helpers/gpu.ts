import { afterAll, beforeAll } from 'vitest';
import type { CpuBackend } from '../../src/gpu/backend.js';
import { requestGpu, type Gpu } from '../../src/gpu/gpu.js';

/**
 * GPU tests run on both CPU adapters, always: a missing adapter fails the run with the install
 * command in its message (CI=true installs both; so does scripts/setup.sh).
 */
export const CPU_BACKENDS: CpuBackend[] = ['swiftshader', 'gles'];

/** Opens `backend` for the enclosing describe block and destroys it afterwards. */
export function useGpu(backend: CpuBackend): () => Gpu {
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
