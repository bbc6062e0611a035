/** Opening a WebGPU adapter in a browser through `navigator.gpu`. */
import type { Backend } from './backend.js';
import { AdapterUnavailableError } from './errors.js';
import type { OpenedAdapter } from './adapter-node.js';
import type { TuneRecord, TuneStore } from './tune-store.js';

export type { OpenedAdapter };

export async function openAdapter(backend: Backend): Promise<OpenedAdapter> {
  if (backend === 'swiftshader' || backend === 'gles') {
    throw new AdapterUnavailableError(
      `backend "${backend}" exists only in Node; a browser chooses its own adapter (use "auto" or "gpu").`,
    );
  }
  if (typeof navigator === 'undefined' || !navigator.gpu) {
    throw new AdapterUnavailableError(
      'this browser does not expose WebGPU (navigator.gpu is missing). Use a current Chrome or Edge; ' +
        'on Linux start Chromium with --enable-unsafe-webgpu, in Firefox enable dom.webgpu.enabled.',
    );
  }
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new AdapterUnavailableError(
      'navigator.gpu exists but returned no adapter: WebGPU is disabled or blocklisted for this GPU ' +
        '(see chrome://gpu; --enable-unsafe-webgpu overrides the blocklist).',
    );
  }
  return { adapter, backend: 'browser', release: () => {} };
}

/** The browser names its WebGPU implementation only through its user agent. */
export function runtimeVersion(): string {
  return typeof navigator === 'undefined' ? 'browser' : navigator.userAgent;
}

const TUNE_KEY = 'webgpu-dcgan:matmul-tune';

/** Matmul tuning results in localStorage (none where storage is unavailable). */
export function tuneStore(): TuneStore | null {
  if (typeof localStorage === 'undefined') return null;
  const load = (): Record<string, TuneRecord> => {
    try {
      return JSON.parse(localStorage.getItem(TUNE_KEY) ?? '{}') as Record<string, TuneRecord>;
    } catch {
      return {};
    }
  };
  return {
    where: `localStorage["${TUNE_KEY}"]`,
    load,
    save(records) {
      try {
        localStorage.setItem(TUNE_KEY, JSON.stringify({ ...load(), ...records }));
      } catch {
        // quota or privacy mode: re-timed next time
      }
    },
  };
}
