/**
 * Opening a WebGPU adapter in Node through dawn.node (npm `webgpu`). Browser builds resolve
 * `#gpu-adapter` to adapter-browser.ts instead, so nothing here reaches a bundle.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create, globals } from 'webgpu';
import { DEFAULT_CPU_BACKEND, isCpuAdapter, type Backend, type CpuBackend } from './backend.js';
import { AdapterUnavailableError } from './errors.js';
import type { TuneRecord, TuneStore } from './tune-store.js';

export interface OpenedAdapter {
  adapter: GPUAdapter;
  /** The backend actually opened (never `auto`); `browser` for navigator.gpu. */
  backend: Exclude<Backend, 'auto'> | 'browser';
  /** Drops the strong reference to the Dawn instance; call after the device is destroyed. */
  release(): void;
}

export const SWIFTSHADER_ICD =
  process.env.WEBGPU_DCGAN_SWIFTSHADER_ICD ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
const SWIFTSHADER_INSTALL = 'apt-get install -y chromium libvulkan1';
const GLES_INSTALL = 'apt-get install -y libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri';

Object.assign(globalThis, globals);

/**
 * Dawn crashes (futex errors, segfaults in InstanceBase::ProcessEvents) when the object `create()`
 * returns is garbage-collected while a device is alive, so every live instance is held here until
 * its device is released. Holding it forever would instead keep Node from exiting.
 */
const liveInstances = new Set<GPU>();

function newInstance(options: string[]): { gpu: GPU; release(): void } {
  // Dawn rounds timestamps to ~0.1 ms by default (a browser's anti-fingerprinting measure);
  // the profiler needs the real values.
  const gpu = create([...options, 'disable-dawn-features=timestamp_quantization']);
  liveInstances.add(gpu);
  return { gpu, release: () => void liveInstances.delete(gpu) };
}

/** Vulkan drivers' window-system code complains on every start without a runtime dir (headless, root). */
function ensureRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  const dir = join(tmpdir(), `webgpu-dcgan-xdg-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}

async function openSwiftShader(): Promise<OpenedAdapter> {
  if (!existsSync(SWIFTSHADER_ICD)) {
    throw new AdapterUnavailableError(
      `SwiftShader not found: expected its Vulkan ICD at ${SWIFTSHADER_ICD}. Install it with \`${SWIFTSHADER_INSTALL}\`.`,
    );
  }
  ensureRuntimeDir();
  // The Vulkan loader reads this when Dawn creates its VkInstance: only SwiftShader is visible.
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const inst = newInstance(['backend=vulkan']);
  const adapter = await inst.gpu.requestAdapter();
  if (!adapter || !/swiftshader/i.test(`${adapter.info.vendor} ${adapter.info.architecture}`)) {
    inst.release();
    throw new AdapterUnavailableError(
      `SwiftShader did not open through Vulkan (ICD ${SWIFTSHADER_ICD}). Is the Vulkan loader installed? \`${SWIFTSHADER_INSTALL}\`.`,
    );
  }
  return { adapter, backend: 'swiftshader', release: inst.release };
}

async function openGles(): Promise<OpenedAdapter> {
  // Mesa's EGL needs no display server on the surfaceless platform.
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const inst = newInstance(['backend=opengles']);
  const adapter = await inst.gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
  if (!adapter) {
    inst.release();
    throw new AdapterUnavailableError(
      `no OpenGL ES adapter (Mesa llvmpipe through EGL). Install Mesa with \`${GLES_INSTALL}\`.`,
    );
  }
  return { adapter, backend: 'gles', release: inst.release };
}

/**
 * The Vulkan driver manifests (ICDs) the loader would find, software ones excluded. Without any,
 * Dawn's Vulkan start only prints "vkCreateInstance: Found no drivers!" to stderr: skip it.
 */
export function hardwareVulkanIcds(): string[] {
  const listed = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
  const files = listed
    ? listed.split(':').filter(Boolean)
    : [
        ...(process.env.XDG_CONFIG_DIRS ?? '/etc/xdg').split(':').map((d) => join(d, 'vulkan/icd.d')),
        '/etc/vulkan/icd.d',
        ...(process.env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':').map((d) => join(d, 'vulkan/icd.d')),
      ].flatMap((dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f)) : []));
  return files.filter((f) => f !== SWIFTSHADER_ICD && !/lvp|lavapipe|swiftshader/i.test(f));
}

async function openHardwareGpu(): Promise<OpenedAdapter> {
  if (process.env.VK_ICD_FILENAMES === SWIFTSHADER_ICD) delete process.env.VK_ICD_FILENAMES;
  if (hardwareVulkanIcds().length === 0) {
    throw new AdapterUnavailableError(
      'no hardware GPU: no Vulkan driver is installed (no ICD manifest in /etc/vulkan/icd.d or /usr/share/vulkan/icd.d). ' +
        "Install the GPU's Vulkan driver and `apt-get install -y libvulkan1`; in a container, NVIDIA's Vulkan driver needs " +
        'NVIDIA_DRIVER_CAPABILITIES to include graphics (e.g. `all`). Or pass --backend swiftshader|gles to run on the CPU.',
    );
  }
  ensureRuntimeDir();
  const inst = newInstance([]);
  const adapter = await inst.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter || isCpuAdapter(adapter.info)) {
    const found = adapter ? `only the software adapter "${adapter.info.description || adapter.info.architecture}"` : 'no adapter';
    inst.release();
    throw new AdapterUnavailableError(
      `no hardware GPU: Dawn found ${found}. Install the GPU's Vulkan driver and \`apt-get install -y libvulkan1\` ` +
        '(in a container, NVIDIA_DRIVER_CAPABILITIES must include graphics), or pass --backend swiftshader|gles to run on the CPU.',
    );
  }
  return { adapter, backend: 'gpu', release: inst.release };
}

const openers: Record<CpuBackend | 'gpu', () => Promise<OpenedAdapter>> = {
  gpu: openHardwareGpu,
  swiftshader: openSwiftShader,
  gles: openGles,
};

export async function openAdapter(backend: Backend): Promise<OpenedAdapter> {
  if (backend !== 'auto') return openers[backend]();
  // auto: a hardware GPU, else the measured-fastest CPU adapter, else the other one.
  const order: Array<keyof typeof openers> = ['gpu', DEFAULT_CPU_BACKEND, DEFAULT_CPU_BACKEND === 'gles' ? 'swiftshader' : 'gles'];
  const reasons: string[] = [];
  for (const name of order) {
    try {
      return await openers[name]();
    } catch (err) {
      if (!(err instanceof AdapterUnavailableError)) throw err;
      reasons.push(`${name}: ${err.message}`);
    }
  }
  throw new AdapterUnavailableError(`no WebGPU adapter could be opened.\n  ${reasons.join('\n  ')}`);
}

/** The WebGPU runtime's version (the `webgpu` npm package, i.e. its Dawn build), for cache keys. */
export function runtimeVersion(): string {
  try {
    const pkg = createRequire(import.meta.url)('webgpu/package.json') as { version: string };
    return `dawn.node ${pkg.version}`;
  } catch {
    return 'dawn.node';
  }
}

/**
 * Matmul tuning results: $WEBGPU_DCGAN_TUNE_CACHE, else $XDG_CACHE_HOME or ~/.cache, under
 * webgpu-dcgan/matmul-tune.json. A missing or unreadable file is an empty cache (it is only a
 * cache); writes go to a temporary file renamed into place.
 */
export function tuneStore(): TuneStore {
  const file = process.env.WEBGPU_DCGAN_TUNE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'webgpu-dcgan', 'matmul-tune.json');
  const load = (): Record<string, TuneRecord> => {
    try {
      const data = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      return data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, TuneRecord>) : {};
    } catch {
      return {};
    }
  };
  return {
    where: file,
    load,
    save(records) {
      try {
        mkdirSync(dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify({ ...load(), ...records }, null, 1));
        renameSync(tmp, file);
      } catch {
        // A read-only home must not stop training: the winners are simply re-timed next run.
      }
    },
  };
}
