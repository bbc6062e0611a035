/**
 * Which WebGPU adapter to open. Shared by Node and the browser so that flags parse the same way.
 *
 * - `auto`: a hardware GPU when there is one, otherwise DEFAULT_CPU_BACKEND.
 * - `gpu`: a hardware GPU or an error (never silently a CPU adapter).
 * - `swiftshader`: SwiftShader (Vulkan on the CPU), from Debian's `chromium` package. Node only.
 * - `gles`: Mesa llvmpipe through Dawn's OpenGL ES backend, compatibility mode. Node only.
 */
export const BACKENDS = ['auto', 'gpu', 'swiftshader', 'gles'] as const;
export type Backend = (typeof BACKENDS)[number];
export type CpuBackend = 'swiftshader' | 'gles';

/**
 * The CPU adapter `auto` falls back to. Fixed once by `npm run bench:adapters` (docs/benchmarks.md,
 * "Choosing the CPU default"), not re-measured per run: llvmpipe through GLES ran the
 * register-blocked matmul several times faster than SwiftShader on a 2-core machine.
 */
export const DEFAULT_CPU_BACKEND: CpuBackend = 'gles';

/** Environment variable that overrides the backend when no flag is given. */
export const BACKEND_ENV = 'WEBGPU_DCGAN_BACKEND';

export function parseBackend(value: string, source = '--backend'): Backend {
  if ((BACKENDS as readonly string[]).includes(value)) return value as Backend;
  throw new Error(`${source}: expected one of ${BACKENDS.join(', ')}, found "${value}"`);
}

/** Software adapters Dawn or a browser can expose; `gpu` must never return one of these. */
export function isCpuAdapter(info: { vendor: string; architecture: string; device: string; description: string }): boolean {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return /swiftshader|llvmpipe|lavapipe|softpipe|software/.test(text);
}

/** SwiftShader, whether opened by name in Node or chosen by a browser (headless Chromium's adapter). */
export function isSwiftShaderAdapter(info: { backend: string; vendor: string; architecture: string; device: string; description: string }): boolean {
  return info.backend === 'swiftshader' || /swiftshader/.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase());
}
