/**
 * The training loop shared by the CLI and the page: which steps go into one submit, when losses
 * are read back, when grids are drawn and checkpoints saved, and what stops a run. Where the
 * results go (files, a canvas, a progress bar) is the caller's, through hooks.
 *
 * The NaN policy, the same everywhere: the GPU flags the first step whose loss is not finite;
 * the flag is checked before every reference log line and every save, so a run stops with an
 * error naming that step and never saves over a good checkpoint.
 */
import { lossCurve, type Grid } from '../image/images.js';
import { referenceLogLine } from './pyrepr.js';
import type { StepPlan } from './step.js';
import type { GanTrainer, StepStats } from './trainer.js';
import { RunHealth, TRY_WHEN_NOT_FINITE, type HealthWarning } from './health.js';

/** Periodic checkpoints: every N steps, or every N seconds of training. */
export type CheckpointEvery = { steps: number } | { seconds: number };

export interface RunOptions {
  /** Stop after this many steps in all (null: run every epoch). */
  maxSteps: number | null;
  /** A metrics row and loss-curve point every N steps. */
  logEvery: number;
  /** Steps encoded in one command buffer at most (results are identical for any value). */
  stepsPerSubmit: number;
  /** Periodic checkpoints besides those at each epoch's end and the run's end; null: none. */
  checkpointEvery: CheckpointEvery | null;
  /** A 'live' grid every N steps (the page); null: only at epoch ends and the run's end. */
  gridEvery: number | null;
  /** Sample-quality metrics (hooks.evaluate) every N steps; null or absent: none. */
  evalEvery?: number | null;
}

/** One metrics.jsonl row. */
export interface MetricsRow {
  epoch: number;
  /** Steps done. */
  step: number;
  /** Batch index in the epoch. */
  batch: number;
  d_loss: number;
  g_loss: number;
  /** Mean D(x) on the real batch and D(G(z)) on the fake batch before D's update. */
  d_x: number;
  d_g_z: number;
  /** G's and D's learning rates in the step just done (constant unless --lr-decay-from). */
  lr_g: number;
  lr_d: number;
  steps_per_s: number;
  /** Seconds since the run started. */
  time: number;
}

export interface RunHooks {
  /** After each submit: where the run is. */
  onSteps?(at: { step: number; epoch: number; batch: number; batches: number; stepsPerSecond: number }): void;
  /** The reference notebook's log line (every 400 batches). */
  onLogLine?(line: string): void;
  onMetrics?(row: MetricsRow, stats: StepStats): void | Promise<void>;
  /** The last fake batch as a grid: `epoch_001.png` at epoch ends, `step_000123.png` at the run's end, `live` every gridEvery steps. */
  onGrid?(grid: Grid, name: string): void | Promise<void>;
  /** Saves the trainer's state; called only with finite losses. Absent: nothing is saved. */
  save?(): Promise<void>;
  /** Scores G's samples at `step` (every evalEvery steps); `spread`: their feature spread over the real images' (collapse check). */
  evaluate?(step: number, epoch: number): Promise<{ spread: number } | void>;
  /** The run looks like it is failing (health.ts): the warning's message names what to try. */
  onWarning?(warning: HealthWarning): void;
  /** Called between submits (the page yields to its event loop here). */
  between?(): Promise<void>;
}

export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(readonly step: number) {
    super(`a loss became NaN or infinite at step ${step}; stopping without saving (the last checkpoint, if any, is intact); ${TRY_WHEN_NOT_FINITE}`);
  }
}

/** Steps per second over the last ~50 submits. */
class StepRate {
  private readonly times: Array<[number, number]> = [];
  tick(step: number): number {
    this.times.push([step, performance.now()]);
    if (this.times.length > 50) this.times.shift();
    const [s0, t0] = this.times[0]!;
    const [s1, t1] = this.times[this.times.length - 1]!;
    return t1 > t0 ? ((s1 - s0) * 1000) / (t1 - t0) : 0;
  }
}

const REFERENCE_LOG_EVERY = 400;

export class TrainingRun {
  /** Loss-curve points, one per metrics row, with mean D(x) and D(G(z)). */
  readonly curve: Array<{ step: number; d: number; g: number; dx: number; dgz: number }> = [];
  private readonly health = new RunHealth();
  private stopRequested = false;
  private last: StepPlan | null = null;
  private readonly rate = new StepRate();
  private readonly start = performance.now();
  private lastSave = performance.now();

  constructor(
    readonly trainer: GanTrainer,
    readonly options: RunOptions,
    private readonly hooks: RunHooks = {},
  ) {}

  /** Steps the whole run takes (epochs x batches, or maxSteps when smaller). */
  get totalSteps(): number {
    return Math.min(this.options.maxSteps ?? Infinity, this.trainer.config.epochs * this.trainer.batchesPerEpoch);
  }

  get finished(): boolean {
    const t = this.trainer;
    return t.epoch >= t.config.epochs || (this.options.maxSteps !== null && t.globalStep >= this.options.maxSteps);
  }

  /** Ends run() after the submit in progress, with the usual end-of-run grid and checkpoint. */
  stop(): void {
    this.stopRequested = true;
  }

  /**
   * How many steps the next submit holds: at most stepsPerSubmit, ending at the first step
   * after which something is read back or saved, so nothing read is overwritten by a later
   * step of the same submit.
   */
  groupLength(): number {
    const { stepsPerSubmit, logEvery, maxSteps, gridEvery, checkpointEvery, evalEvery = null } = this.options;
    const t = this.trainer;
    const everySteps = checkpointEvery && 'steps' in checkpointEvery ? checkpointEvery.steps : null;
    for (let j = 0; j < stepsPerSubmit; j++) {
      const b = t.batchIndex + j;
      const after = t.globalStep + j + 1;
      if (
        b % REFERENCE_LOG_EVERY === 0 ||
        after % logEvery === 0 ||
        b === t.batchesPerEpoch - 1 ||
        (maxSteps !== null && after >= maxSteps) ||
        (everySteps !== null && after % everySteps === 0) ||
        (gridEvery !== null && after % gridEvery === 0) ||
        (evalEvery !== null && after % evalEvery === 0)
      ) {
        return j + 1;
      }
    }
    return stepsPerSubmit;
  }

  /** Trains until the run is finished or stop() is called; returns how it ended. */
  async run(): Promise<'finished' | 'stopped'> {
    const t = this.trainer;
    const h = this.hooks;
    const { logEvery, gridEvery, checkpointEvery, evalEvery = null } = this.options;
    while (!this.finished && !this.stopRequested) {
      const epoch = t.epoch;
      const plans = await t.steps(this.groupLength());
      const plan = plans[plans.length - 1]!;
      this.last = plan;
      const batches = t.batchesPerEpoch;
      const batch = t.batchIndex === 0 ? batches - 1 : t.batchIndex - 1;
      const step = t.globalStep;
      const stepsPerSecond = this.rate.tick(step);
      h.onSteps?.({ step, epoch, batch, batches, stepsPerSecond });

      let stats: StepStats | null = null;
      const readStats = async () => (stats ??= await t.stats(plan));
      if (batch % REFERENCE_LOG_EVERY === 0) {
        await this.assertFinite();
        const s = await readStats();
        h.onLogLine?.(referenceLogLine(epoch, t.config.epochs, batch, batches, s.dLoss, s.gLoss));
      }
      if (step % logEvery === 0) {
        const s = await readStats();
        this.curve.push({ step, d: s.dLoss, g: s.gLoss, dx: s.dReal, dgz: s.dFake });
        const time = (performance.now() - this.start) / 1000;
        const lr = t.schedule.rates(step - 1);
        await h.onMetrics?.({ epoch, step, batch, d_loss: s.dLoss, g_loss: s.gLoss, d_x: s.dReal, d_g_z: s.dFake, lr_g: lr.g, lr_d: lr.d, steps_per_s: stepsPerSecond, time }, s);
        this.warn(this.health.observe({ step, d_loss: s.dLoss, g_loss: s.gLoss }));
      }
      if (t.batchIndex === 0) {
        await this.grid(`epoch_${String(epoch + 1).padStart(3, '0')}.png`);
        await this.save();
      } else if (gridEvery !== null && step % gridEvery === 0) {
        await this.grid('live');
      }
      if (evalEvery !== null && step % evalEvery === 0) {
        await this.assertFinite();
        const scored = await h.evaluate?.(step, epoch);
        if (scored) this.warn(this.health.observeSpread(step, scored.spread));
      }
      if (checkpointEvery && t.batchIndex !== 0) {
        const due = 'steps' in checkpointEvery ? step % checkpointEvery.steps === 0 : performance.now() - this.lastSave >= checkpointEvery.seconds * 1000;
        if (due) await this.save();
      }
      await h.between?.();
    }
    await t.gpu.sync('the last steps');
    if (this.last && t.batchIndex !== 0) {
      await this.grid(`step_${String(t.globalStep).padStart(6, '0')}.png`);
      await this.save();
    }
    await this.assertFinite();
    const ended = this.finished ? 'finished' : 'stopped';
    this.stopRequested = false; // run() again continues (the page's Resume)
    return ended;
  }

  /** The D and G loss curve over the metrics rows so far (the CLI's loss_curve.png, the page's chart). */
  lossChart(): Grid | null {
    return this.chart((c) => [c.d, c.g], ['D', 'G']);
  }

  /** Mean D(x) and D(G(z)) over the metrics rows so far (the page's second chart). */
  dOutputChart(): Grid | null {
    return this.chart((c) => [c.dx, c.dgz], ['D(x)', 'D(G(z))']);
  }

  private chart(pick: (point: TrainingRun['curve'][number]) => [number, number], labels: [string, string]): Grid | null {
    if (this.curve.length < 2) return null;
    const colours: Array<[number, number, number]> = [[31, 119, 180], [255, 127, 14]];
    const series = labels.map((label, k) => ({ values: this.curve.map((c) => pick(c)[k]!), color: colours[k]!, label }));
    return lossCurve(this.curve.map((c) => c.step), series);
  }

  /** Saves now (finite losses only); e.g. when the page pauses. */
  async save(): Promise<void> {
    await this.assertFinite();
    await this.hooks.save?.();
    this.lastSave = performance.now();
  }

  private warn(w: HealthWarning | null): void {
    if (w) this.hooks.onWarning?.(w);
  }

  private async grid(name: string): Promise<void> {
    if (this.last && this.hooks.onGrid) await this.hooks.onGrid(await this.trainer.fakeGrid(this.last), name);
  }

  private async assertFinite(): Promise<void> {
    const bad = await this.trainer.firstNonFiniteStep();
    if (bad !== null) throw new NonFiniteLossError(bad);
  }
}
