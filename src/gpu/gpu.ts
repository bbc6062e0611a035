/**
 * The GPU runtime: one device, one buffer allocator, one pipeline cache, one dispatch helper.
 * The same class runs in Node (dawn.node) and in a browser; only adapter opening differs
 * (`#gpu-adapter` resolves per platform, see package.json "imports").
 */
import { openAdapter, runtimeVersion } from '#gpu-adapter';
import { BACKEND_ENV, isCpuAdapter, isSwiftShaderAdapter, parseBackend, type Backend } from './backend.js';
import { DeviceLostError, GpuError, KernelError } from './errors.js';
import {
  formatCompilationMessages,
  kernelKey,
  toBufferBinding,
  type Binding,
  type Dispatch,
  type Kernel,
} from './kernel.js';
import { HOST_ARRAY, Tensor, numel, type DType, type HostArray } from './tensor.js';

/** A buffer write that belongs to one training step (see Gpu.record and Gpu.runSteps). */
export interface StepWrite {
  buffer: GPUBuffer;
  offset: number;
  data: Uint8Array;
}

/** One step of several encoded into one command buffer: its writes, then its dispatches. */
export interface EncodedStep {
  writes: readonly StepWrite[];
  dispatches: readonly Dispatch[];
}

export interface GpuOptions {
  /** Which adapter; default: $WEBGPU_DCGAN_BACKEND in Node, else `auto`. */
  backend?: Backend;
  /** False: open a device of its own even while lendGpus lends them (the lender's own devices). */
  borrow?: boolean;
}

/** Limits the kernels depend on; the device is created with the adapter's real values. */
const REQUESTED_LIMITS = [
  'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxUniformBufferBindingSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
] as const;

const OPTIONAL_FEATURES = ['timestamp-query', 'subgroups', 'shader-f16'] as const;

export type GpuLimits = Record<(typeof REQUESTED_LIMITS)[number], number>;

export interface AdapterDescription {
  backend: Exclude<Backend, 'auto'> | 'browser';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

function defaultBackend(): Backend {
  const env = typeof process !== 'undefined' ? process.env?.[BACKEND_ENV] : undefined;
  return env ? parseBackend(env, BACKEND_ENV) : 'auto';
}

/**
 * Where requestGpu gets a device before opening one: tests that run a command in-process lend it
 * their worker's device for an adapter (Gpu.lease), so its kernels compile once per worker, not
 * once per command. null (the default): every call opens its own device.
 */
let lender: ((backend: Backend) => Promise<Gpu> | null) | null = null;

/** Sets (or, with null, clears) the device lender requestGpu asks first. */
export function lendGpus(source: typeof lender): void {
  lender = source;
}

export async function requestGpu(options: GpuOptions = {}): Promise<Gpu> {
  const lent = options.borrow === false ? null : lender?.(options.backend ?? defaultBackend());
  if (lent) return lent;
  const opened = await openAdapter(options.backend ?? defaultBackend());
  const { adapter } = opened;
  const requiredLimits: Record<string, number> = {};
  for (const name of REQUESTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'webgpu-dcgan' });
  } catch (err) {
    opened.release();
    throw new GpuError(`requestDevice failed on ${opened.backend}: ${(err as Error).message}`);
  }
  const info = adapter.info;
  return new Gpu(
    device,
    {
      backend: opened.backend,
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
    },
    opened.release,
  );
}

/** Each device's compiled pipelines, keyed by their WGSL and layout: one compile per device. */
const PIPELINES = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

export class Gpu {
  readonly limits: GpuLimits;
  readonly features: ReadonlySet<string>;
  /** The WebGPU implementation's version (dawn.node's, or the browser's user agent). */
  readonly runtimeVersion = runtimeVersion();
  /** Bytes currently allocated through this runtime (buffers not yet destroyed). */
  allocatedBytes = 0;

  /** Pipelines by WGSL and layout: the device's, shared by every Gpu on it (PIPELINES). */
  private readonly pipelines: Map<string, Promise<GPUComputePipeline>>;
  /** Pipelines compiled so far (each distinct kernel once). */
  compiledKernels = 0;
  /**
   * Called as each new pipeline starts compiling, with the kernel's name and the count so far:
   * progress for whoever waits on a plan build (on a CPU adapter a kernel can take a second).
   */
  onCompile: ((kernel: string, count: number) => void) | null = null;
  /** While Gpu.record runs: the writes made, instead of performing them. */
  private recording: StepWrite[] | null = null;
  /** Holds the recorded writes of several steps; they reach their buffers by in-order copies. */
  private staging: GPUBuffer | null = null;
  private readonly buffers = new Set<GPUBuffer>();
  /** Lists that Gpu.tracking fills with the buffers created while it runs. */
  private readonly trackers = new Set<GPUBuffer[]>();
  private readonly uncaptured: string[] = [];
  private readonly onUncaptured = (ev: Event) => void this.uncaptured.push((ev as GPUUncapturedErrorEvent).error.message);
  private lostError: DeviceLostError | null = null;
  private readonly lostPromise: Promise<never>;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
    private readonly releaseAdapter: () => void,
    /** False for a lease (Gpu.lease): destroy() then frees only the lease's own buffers. */
    private readonly ownsDevice = true,
  ) {
    this.pipelines = PIPELINES.get(device) ?? new Map();
    PIPELINES.set(device, this.pipelines);
    const limits: Record<string, number> = {};
    for (const name of REQUESTED_LIMITS) limits[name] = device.limits[name];
    this.limits = limits as GpuLimits;
    this.features = new Set(device.features);
    this.lostPromise = device.lost.then((info) => {
      this.lostError = new DeviceLostError(
        `GPU device lost (reason: ${info.reason ?? 'unknown'})${info.message ? `: ${info.message}` : ''}`,
      );
      throw this.lostError;
    });
    this.lostPromise.catch(() => {}); // observed through race(), never an unhandled rejection
    device.addEventListener('uncapturederror', this.onUncaptured);
  }

  get backend(): AdapterDescription['backend'] {
    return this.adapter.backend;
  }

  /** A CPU implementation (SwiftShader, llvmpipe): kernel choices differ from real GPUs. */
  get isSoftware(): boolean {
    return this.adapter.backend === 'swiftshader' || this.adapter.backend === 'gles' || isCpuAdapter(this.adapter);
  }

  /** SwiftShader in Node or in a browser: its kernel choices differ from llvmpipe's (prefersDotProducts, the tuner's short list). */
  get isSwiftShader(): boolean {
    return isSwiftShaderAdapter(this.adapter);
  }

  /** Bytes of the largest buffer one storage binding holds (a buffer is bound whole). */
  get bindingLimit(): number {
    return Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
  }

  get hasTimestamps(): boolean {
    return this.features.has('timestamp-query');
  }

  /** One line naming the adapter, for logs. */
  describe(): string {
    const a = this.adapter;
    const name = [a.vendor, a.architecture, a.description].filter(Boolean).join(' / ');
    return `${a.backend} (${name})`;
  }

  // ---- buffers -----------------------------------------------------------------------------

  /** The single buffer allocator: every buffer is labelled and counted. */
  createBuffer(label: string, byteLength: number, usage: GPUBufferUsageFlags): GPUBuffer {
    this.assertAlive();
    const size = Math.max(4, Math.ceil(byteLength / 4) * 4);
    if (size > this.limits.maxBufferSize) {
      throw new GpuError(`buffer "${label}": ${size} bytes exceeds this adapter's maxBufferSize ${this.limits.maxBufferSize}`);
    }
    const buffer = this.device.createBuffer({ label, size, usage });
    this.buffers.add(buffer);
    this.allocatedBytes += size;
    for (const t of this.trackers) t.push(buffer);
    return buffer;
  }

  /**
   * Runs `build` and returns what it made with every buffer created meanwhile: a plan built
   * only to be measured (src/layers/activation-arena.ts) is then destroyed whole.
   */
  async tracking<T>(build: () => Promise<T>): Promise<{ value: T; created: GPUBuffer[] }> {
    const created: GPUBuffer[] = [];
    this.trackers.add(created);
    try {
      return { value: await build(), created };
    } finally {
      this.trackers.delete(created);
    }
  }

  /** The buffers alive now, with their labels and sizes (memory reports, limit tests). */
  bufferSizes(): Array<{ label: string; size: number }> {
    return [...this.buffers].map((b) => ({ label: b.label, size: b.size }));
  }

  destroyBuffer(buffer: GPUBuffer): void {
    if (this.buffers.delete(buffer)) this.allocatedBytes -= buffer.size;
    buffer.destroy();
  }

  /** A storage tensor; `data`, when given, is uploaded. */
  tensor(label: string, shape: readonly number[], dtype: DType = 'f32', data?: ArrayLike<number>): Tensor {
    const n = numel(shape);
    const buffer = this.createBuffer(
      label,
      n * 4,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    );
    const t = new Tensor(buffer, shape, dtype);
    if (data) this.write(t, data);
    return t;
  }

  /** A uniform buffer holding `data` (e.g. shapes for a kernel). */
  uniform(label: string, data: HostArray): GPUBuffer {
    const buffer = this.createBuffer(label, Math.max(16, data.byteLength), GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.device.queue.writeBuffer(buffer, 0, data);
    return buffer;
  }

  write(t: Tensor, data: ArrayLike<number>): void {
    this.assertAlive();
    if (data.length !== t.size) {
      throw new GpuError(`write to "${t.label}": expected ${t.size} values for shape [${t.shape.join(', ')}], found ${data.length}`);
    }
    const host = data instanceof HOST_ARRAY[t.dtype] ? (data as HostArray) : HOST_ARRAY[t.dtype].from(data);
    this.device.queue.writeBuffer(t.buffer, t.offset, host);
  }

  /**
   * The one way per-step state (uniforms, the epoch's order) reaches the GPU: written now, or,
   * inside `record`, kept to be copied in order with the dispatches of its own step, so that
   * several steps can share one command buffer (runSteps).
   */
  writeState(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.assertAlive();
    if (!this.recording) {
      this.device.queue.writeBuffer(buffer, offset, data);
      return;
    }
    if (offset % 4 !== 0 || data.byteLength % 4 !== 0) throw new GpuError(`write to "${buffer.label}": offset and size must be multiples of 4`);
    this.recording.push({ buffer, offset, data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
  }

  /** Runs `fn`, returning the writeState calls it made instead of performing them. */
  record(fn: () => void): StepWrite[] {
    if (this.recording) throw new GpuError('Gpu.record cannot be nested');
    const writes: StepWrite[] = [];
    this.recording = writes;
    try {
      fn();
    } finally {
      this.recording = null;
    }
    return writes;
  }

  /**
   * Encodes several steps into one command buffer and submits it once: before each step's
   * dispatches, copies from a staging buffer put that step's recorded writes in place (one
   * writeBuffer fills the staging buffer; queue order keeps it safe to reuse next time).
   */
  runSteps(steps: readonly EncodedStep[], label = 'steps'): void {
    this.assertAlive();
    const total = steps.reduce((a, s) => a + s.writes.reduce((b, w) => b + w.data.byteLength, 0), 0);
    if (total > 0 && (!this.staging || this.staging.size < total)) {
      if (this.staging) this.destroyBuffer(this.staging);
      this.staging = this.createBuffer('step writes', Math.max(4096, 2 ** Math.ceil(Math.log2(total))), GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    }
    const bytes = new Uint8Array(total);
    const encoder = this.device.createCommandEncoder({ label });
    let at = 0;
    for (const step of steps) {
      for (const w of step.writes) {
        bytes.set(w.data, at);
        encoder.copyBufferToBuffer(this.staging!, at, w.buffer, w.offset, w.data.byteLength);
        at += w.data.byteLength;
      }
      this.encode(encoder, step.dispatches);
    }
    if (total > 0) this.device.queue.writeBuffer(this.staging!, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
  }

  /** Copies bytes back to the host. The only way data leaves the GPU. */
  async readBytes(buffer: GPUBuffer, offset = 0, byteLength = buffer.size - offset): Promise<ArrayBuffer> {
    this.assertAlive();
    const size = Math.ceil(byteLength / 4) * 4;
    const staging = this.device.createBuffer({
      label: `readback of ${buffer.label}`,
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      const enc = this.device.createCommandEncoder({ label: `readback of ${buffer.label}` });
      enc.copyBufferToBuffer(buffer, offset, staging, 0, size);
      this.device.queue.submit([enc.finish()]);
      await this.race(staging.mapAsync(GPUMapMode.READ));
      this.throwUncaptured(`reading "${buffer.label}"`);
      return staging.getMappedRange().slice(0, byteLength);
    } finally {
      staging.destroy();
    }
  }

  async read(t: Tensor): Promise<HostArray> {
    const bytes = await this.readBytes(t.buffer, t.offset, t.byteLength);
    return new HOST_ARRAY[t.dtype](bytes);
  }

  // ---- kernels -----------------------------------------------------------------------------

  /** The pipeline cache, keyed by source, entry point and override constants. */
  pipeline(kernel: Kernel): Promise<GPUComputePipeline> {
    this.assertAlive();
    const key = kernelKey(kernel);
    let p = this.pipelines.get(key);
    if (!p) {
      this.compiledKernels++;
      this.onCompile?.(kernel.name, this.compiledKernels);
      p = this.compile(kernel);
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
    }
    return p;
  }

  private async compile(kernel: Kernel): Promise<GPUComputePipeline> {
    const { device } = this;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: kernel.name, code: kernel.code });
    const info = await this.race(module.getCompilationInfo());
    const scopeError = await this.race(device.popErrorScope());
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length > 0 || scopeError) {
      const detail = errors.length > 0 ? formatCompilationMessages(kernel.code, errors) : scopeError!.message;
      throw new KernelError(kernel.name, `WGSL compilation failed\n${detail}`);
    }
    try {
      return await this.race(
        device.createComputePipelineAsync({
          label: kernel.name,
          layout: 'auto',
          compute: { module, entryPoint: kernel.entryPoint ?? 'main', constants: kernel.constants ?? {} },
        }),
      );
    } catch (err) {
      if (err instanceof DeviceLostError) throw err;
      throw new KernelError(kernel.name, `pipeline creation failed: ${(err as Error).message}`);
    }
  }

  /** The dispatch helper: compiles (cached) and binds once; encode the result as often as needed. */
  async prepare(kernel: Kernel, bindings: readonly Binding[], workgroups: readonly [number, number, number]): Promise<Dispatch> {
    const pipeline = await this.pipeline(kernel);
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (workgroups.some((w) => !Number.isInteger(w) || w < 0 || w > max)) {
      throw new KernelError(kernel.name, `workgroup counts [${workgroups.join(', ')}] outside 0..${max}`);
    }
    this.device.pushErrorScope('validation');
    const resources = bindings.map(toBufferBinding);
    const bindGroup = this.device.createBindGroup({
      label: kernel.name,
      layout: pipeline.getBindGroupLayout(0),
      entries: resources.map((resource, i) => ({ binding: i, resource })),
    });
    const err = await this.race(this.device.popErrorScope());
    if (err) throw new KernelError(kernel.name, `bind group rejected: ${err.message}`);
    return { kernel: kernel.name, pipeline, bindGroup, buffers: resources.map((r) => r.buffer), workgroups };
  }

  /** Records dispatches, in order, into one compute pass. */
  encode(encoder: GPUCommandEncoder, dispatches: readonly Dispatch[]): void {
    const pass = encoder.beginComputePass();
    for (const d of dispatches) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    }
    pass.end();
  }

  /** Encodes dispatches into one command buffer and submits it. Does not wait. */
  run(dispatches: readonly Dispatch[], label = 'run'): void {
    this.assertAlive();
    const encoder = this.device.createCommandEncoder({ label });
    this.encode(encoder, dispatches);
    this.device.queue.submit([encoder.finish()]);
  }

  /** Waits for all submitted work; throws any validation error it raised or a device loss. */
  async sync(what = 'submitted work'): Promise<void> {
    this.assertAlive();
    await this.race(this.device.queue.onSubmittedWorkDone());
    this.throwUncaptured(what);
  }

  /**
   * A second Gpu on this device, with buffers of its own: its destroy() frees them and leaves
   * the device and its compiled pipelines to their owner (a command run in-process by a test).
   */
  lease(): Gpu {
    this.assertAlive();
    return new Gpu(this.device, this.adapter, () => {}, false);
  }

  /** Releases every buffer and the device (a lease: its own buffers), and lets the process exit. Idempotent. */
  destroy(): void {
    this.lostError ??= new DeviceLostError('GPU device lost (reason: destroyed): Gpu.destroy() was called');
    for (const b of this.buffers) b.destroy();
    this.buffers.clear();
    this.allocatedBytes = 0;
    if (!this.ownsDevice) return this.device.removeEventListener('uncapturederror', this.onUncaptured);
    this.pipelines.clear();
    this.device.destroy();
    this.releaseAdapter();
  }

  // ---- errors ------------------------------------------------------------------------------

  /** Any promise that waits on the GPU, rejected with DeviceLostError if the device goes away. */
  async race<T>(p: Promise<T>): Promise<T> {
    try {
      return await Promise.race([p, this.lostPromise]);
    } catch (err) {
      if (this.lostError) throw this.lostError;
      // A lost device fails pending work (Chromium aborts mapAsync: "Buffer was unmapped before
      // mapping was resolved") before `lost` resolves: wait for the real cause. On a loaded
      // 2-core machine `lost` came more than 100 ms later (the page then named the abort), so
      // the wait is generous; it is paid only on this error path.
      const timeout = new Promise<null>((r) => setTimeout(() => r(null), 2000));
      throw (await Promise.race([this.lostPromise.catch((e: unknown) => e), timeout])) ?? err;
    }
  }

  /** Whether the device was lost (or destroyed): nothing on it can be read any more. */
  get isLost(): boolean {
    return this.lostError !== null;
  }

  private assertAlive(): void {
    if (this.lostError) throw this.lostError;
  }

  private throwUncaptured(what: string): void {
    if (this.uncaptured.length === 0) return;
    const messages = this.uncaptured.splice(0);
    throw new GpuError(`GPU validation error during ${what}: ${messages.join('\n')}`);
  }
}
