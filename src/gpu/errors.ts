/** Every failure the GPU runtime reports is one of these, so callers can tell them from bugs. */
export class GpuError extends Error {
  override name = 'GpuError';
}

/** No adapter could be opened; the message says what to install or which flag to change. */
export class AdapterUnavailableError extends GpuError {
  override name = 'AdapterUnavailableError';
}

/** A WGSL kernel failed to compile or its pipeline failed validation. */
export class KernelError extends GpuError {
  override name = 'KernelError';
  constructor(
    readonly kernel: string,
    message: string,
  ) {
    super(`kernel "${kernel}": ${message}`);
  }
}

/** The device was lost (driver reset, destroy(), out of memory); further work is impossible. */
export class DeviceLostError extends GpuError {
  override name = 'DeviceLostError';
}
