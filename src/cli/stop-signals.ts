/**
 * How a training command stops: Ctrl-C (SIGINT), `kill`/`docker stop`/Kubernetes/systemd
 * (SIGTERM) and a closed terminal (SIGHUP) all finish the step in flight, save a checkpoint and
 * the grid, and exit with 128 + the signal's number. A second signal exits at once, without
 * touching `latest` (which names a complete checkpoint at every instant). A signal before the
 * first training step exits at once too: there is nothing to save yet.
 */
import { constants } from 'node:os';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** The shell's convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP). */
export const signalExitCode = (signal: string) => 128 + (constants.signals[signal as NodeJS.Signals] ?? 0);

export class StopSignals {
  /** The first signal received, or null. */
  received: StopSignal | null = null;
  private stop: (() => void) | null = null;
  private readonly handlers = STOP_SIGNALS.map((s) => [s, () => this.on(s)] as const);

  constructor() {
    for (const [s, h] of this.handlers) process.on(s, h);
  }

  /** From now on a first signal calls `stop` (the run finishes its step and saves) instead of exiting. */
  arm(stop: () => void): void {
    this.stop = stop;
    if (this.received) stop();
  }

  /** The exit code the run ends with: 128 + signal after a signal, else undefined. */
  get exitCode(): number | undefined {
    return this.received ? signalExitCode(this.received) : undefined;
  }

  dispose(): void {
    for (const [s, h] of this.handlers) process.off(s, h);
  }

  private on(signal: StopSignal): void {
    if (this.received || !this.stop) process.exit(signalExitCode(signal));
    this.received = signal;
    this.stop();
    const again = signal === 'SIGINT' ? 'Ctrl-C' : 'a second signal';
    console.error(`\ninterrupted: finishing this step, then saving (${signal}; ${again} quits at once)`);
  }
}
