/**
 * Progress for long runs: a bar with steps/s and ETA redrawn in place on a terminal, plain lines
 * (at most one a minute) otherwise, so logs stay readable. Log lines print above the bar.
 */
export class Progress {
  // Through the package's bin stderr is a pipe; the bin says whether its own is a terminal.
  private readonly tty = Boolean(process.stderr.isTTY) || process.env.WEBGPU_DCGAN_STDERR_TTY === '1';
  private readonly times: Array<[number, number]> = [];
  private lastPlain = 0;
  private line = '';

  constructor(
    private readonly total: number,
    private readonly startStep: number,
    /** Print nothing (--quiet); rate() still works. */
    private readonly silent = false,
  ) {}

  /** Steps per second over the last ~50 steps (0 until two are known). */
  rate(): number {
    if (this.times.length < 2) return 0;
    const [s0, t0] = this.times[0]!;
    const [s1, t1] = this.times[this.times.length - 1]!;
    return t1 > t0 ? ((s1 - s0) * 1000) / (t1 - t0) : 0;
  }

  tick(step: number, epoch: number, epochs: number, batch: number, batches: number): void {
    const now = performance.now();
    this.times.push([step, now]);
    if (this.times.length > 50) this.times.shift();
    const rate = this.rate();
    const left = this.total - step;
    const eta = rate > 0 && Number.isFinite(left) ? formatDuration(left / rate) : '?';
    const frac = Number.isFinite(this.total) ? Math.min(1, (step - this.startStep) / Math.max(1, this.total - this.startStep)) : 0;
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    if (this.silent) return;
    this.line = `epoch ${epoch + 1}/${epochs} batch ${batch + 1}/${batches} [${bar}] step ${step}/${this.total} ${rate.toFixed(2)} steps/s ETA ${eta}`;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${this.line}`);
    } else if (now - this.lastPlain > 60_000) {
      this.lastPlain = now;
      process.stderr.write(`${this.line}\n`);
    }
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
