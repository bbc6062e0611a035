/**
 * Progress for long runs: a bar with steps/s and ETA redrawn in place on a terminal, plain lines
 * (at most one a minute) otherwise, so logs stay readable. Log lines print above the bar.
 */
export class Progress {
  // Through the package's bin stderr is a pipe; the bin says whether its own is a terminal.
  private readonly tty = Boolean(process.stderr.isTTY) || process.env.WEBGPU_DCGAN_STDERR_TTY === '1';
  private lastPlain = 0;
  private line = '';
  private latest = '';

  constructor(
    private readonly total: number,
    private readonly startStep: number,
    /** Print nothing (--quiet). */
    private readonly silent = false,
  ) {}

  /** `rate`: steps per second, measured by the run loop. */
  tick(step: number, epoch: number, epochs: number, batch: number, batches: number, rate: number): void {
    const now = performance.now();
    const left = this.total - step;
    const eta = rate > 0 && Number.isFinite(left) ? formatDuration(left / rate) : '?';
    const frac = Number.isFinite(this.total) ? Math.min(1, (step - this.startStep) / Math.max(1, this.total - this.startStep)) : 0;
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    if (this.silent) return;
    this.line = `epoch ${epoch + 1}/${epochs} batch ${batch + 1}/${batches} [${bar}] step ${step}/${this.total} ${rate.toFixed(2)} steps/s ETA ${eta}${this.latest}`;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${this.line}`);
    } else if (now - this.lastPlain > 60_000) {
      this.lastPlain = now;
      process.stderr.write(`${this.line}\n`);
    }
  }

  /** The last logged step's losses and D's mean outputs, shown at the end of the bar (as pytorch/examples' dcgan prints them). */
  metrics(m: { d_loss: number; g_loss: number; d_x: number; d_g_z: number }): void {
    this.latest = ` Loss_D ${m.d_loss.toFixed(4)} Loss_G ${m.g_loss.toFixed(4)} D(x) ${m.d_x.toFixed(4)} D(G(z)) ${m.d_g_z.toFixed(4)}`;
  }

  /** Prints a line to stdout without tearing the bar. */
  print(text: string): void {
    if (this.silent) return;
    if (this.tty) process.stderr.write('\r\x1b[2K');
    console.log(text);
    if (this.tty && this.line) process.stderr.write(this.line);
  }

  done(): void {
    if (this.silent) return;
    if (this.tty) process.stderr.write('\n');
    else if (this.line) process.stderr.write(`${this.line}\n`);
  }
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}
