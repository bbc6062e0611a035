/**
 * Live training: Start (building the trainer first), Pause, the stats line, the grid and loss
 * chart, and the two download buttons. The run goes through the same loop as the CLI
 * (src/train/run-loop.ts): the same NaN policy, log cadence, grids and loss chart; each
 * checkpoint is kept on the host and written to IndexedDB.
 */
import { drawGrid } from '../src/embed.js';
import type { Gpu } from '../src/gpu/gpu.js';
import { TrainingRun } from '../src/train/run-loop.js';
import type { GanTrainer } from '../src/train/trainer.js';
import type { SavedRun } from './checkpoint-store.js';
import type { DataPicker } from './data-picker.js';
import { $, button, download, showStep, state, status } from './page.js';
import { PlanProgress, trainerFromForm, trainerFromStored } from './plan-builder.js';
import { checkpointFiles, storeCheckpoint, type HostCheckpoint } from './stored-runs.js';
import type { PageSettings } from './url-params.js';

export class TrainingControls {
  trainer: GanTrainer | null = null;
  running = false;
  /** The run loop until it ends (it never rejects: its errors are shown). */
  looping: Promise<void> = Promise.resolve();
  private run: TrainingRun | null = null;
  /** The last checkpoint, kept on the host: it survives a lost device. */
  private saved: HostCheckpoint | null = null;
  /** This run's id in IndexedDB: a resumed run keeps the stored run's. */
  private runId = Date.now();

  constructor(
    private readonly gpu: Gpu,
    private readonly data: DataPicker,
    private readonly settings: PageSettings,
    /** Called after each checkpoint reaches IndexedDB. */
    private readonly onStored: () => void,
  ) {}

  listen(): void {
    $('start').addEventListener('click', () => void this.start());
    $('pause').addEventListener('click', () => this.pause());
    $('download-g').addEventListener('click', () => void this.downloadModel('G'));
    $('download-d').addEventListener('click', () => void this.downloadModel('D'));
  }

  /** Builds the trainer (from a stored run when given) and its run; false, with the reason shown, when it cannot. */
  async build(from?: SavedRun): Promise<boolean> {
    const progress = new PlanProgress(this.gpu, from, this.settings.tune);
    let trainer: GanTrainer;
    try {
      trainer = this.trainer = from ? await this.resume(from) : await trainerFromForm(this.gpu, this.data, this.settings.tune, this.settings.training);
      await trainer.plan(trainer.config.batchSize);
    } catch (err) {
      this.trainer = null;
      status(`Could not build the training plan: ${(err as Error).message}`, true);
      return false;
    } finally {
      progress.end();
    }
    progress.built();
    this.ready(trainer);
    return true;
  }

  /** The stored run's trainer, this run taking its id and the form showing its settings. */
  private async resume(from: SavedRun): Promise<GanTrainer> {
    const trainer = await trainerFromStored(this.gpu, this.data, from, this.settings.training);
    this.runId = from.id;
    state.resumedStep = trainer.globalStep;
    $<HTMLInputElement>('batch').value = String(trainer.config.batchSize);
    $<HTMLInputElement>('seed').value = String(trainer.config.seed);
    $<HTMLSelectElement>('conditional').value = trainer.config.conditional;
    return trainer;
  }

  /** The built trainer's run, and the page switched from choosing a model to training it. */
  private ready(trainer: GanTrainer): void {
    if (trainer.config.conditional !== 'none') $('grid-caption').textContent = `one row per class (${trainer.classNames.join(', ')}), G in eval mode`;
    const run = (this.run = this.newRun(trainer));
    state.losses = run.curve; // the run's own loss-curve points (tests read them)
    showStep(trainer.globalStep);
    for (const id of ['batch', 'seed', 'conditional', 'arch', 'width', 'folder']) $<HTMLInputElement>(id).disabled = true;
    for (const id of ['download-g', 'download-d', 'use-trained', 'profile']) button(id).disabled = false;
    button('stored-resume').disabled = true;
  }

  private newRun(t: GanTrainer): TrainingRun {
    const { maxSteps, logEvery, checkpointEvery, refresh } = this.settings;
    return new TrainingRun(
      t,
      { maxSteps, logEvery, stepsPerSubmit: 1, checkpointEvery: { steps: checkpointEvery }, gridEvery: refresh },
      {
        onSteps: ({ step, epoch, batch, stepsPerSecond }) => {
          showStep(step);
          $('epoch').textContent = String(epoch + 1);
          $('batch-index').textContent = String(batch + 1);
          $('rate').textContent = stepsPerSecond.toFixed(2);
        },
        onMetrics: (row) => {
          $('d-loss').textContent = row.d_loss.toFixed(4);
          $('g-loss').textContent = row.g_loss.toFixed(4);
          $('d-x').textContent = row.d_x.toFixed(4);
          $('d-g-z').textContent = row.d_g_z.toFixed(4);
          const chart = this.run!.lossChart();
          if (chart) drawGrid($('chart'), chart);
          const dChart = this.run!.dOutputChart();
          if (dChart) drawGrid($('d-chart'), dChart);
        },
        onWarning: (w) => {
          const health = $('health');
          health.hidden = false;
          health.textContent = `Step ${w.step}: ${w.message}.`;
          (state.warnings ??= []).push(w);
        },
        onGrid: (grid) => {
          drawGrid($('grid'), grid);
          state.gridDrawnAtStep = t.globalStep;
        },
        save: () => this.save(t),
        between: () => new Promise((r) => setTimeout(r, 0)), // let the page breathe
      },
    );
  }

  private async save(t: GanTrainer): Promise<void> {
    const saved = (this.saved = await checkpointFiles(t));
    await storeCheckpoint(t, this.runId, saved);
    this.onStored();
  }

  private async start(): Promise<void> {
    if (this.running) return;
    if (!this.trainer && !(await this.build())) return;
    this.running = true;
    button('start').disabled = true;
    button('pause').disabled = false;
    this.looping = this.loop().catch((err) => {
      this.running = false;
      button('pause').disabled = true;
      const kept = this.saved ? ` The last checkpoint (step ${this.saved.step}) is kept: the download buttons give it.` : '';
      status(`Training stopped: ${(err as Error).message.replace(/\.$/, '')}.${kept}`, true);
    });
  }

  private async loop(): Promise<void> {
    const ended = await this.run!.run();
    if (ended === 'finished') {
      this.running = false;
      state.done = true;
      button('pause').disabled = true;
      button('start').textContent = 'Done';
    }
  }

  private pause(): void {
    this.running = false;
    this.run?.stop(); // ends after this step, saving (in memory) and drawing the grid
    button('start').disabled = false;
    button('start').textContent = 'Resume';
    button('pause').disabled = true;
  }

  /** The current weights; once the device is lost, the last checkpoint (the weights on the GPU are gone). */
  private async downloadModel(which: 'G' | 'D'): Promise<void> {
    const files = this.gpu.isLost ? this.saved : await checkpointFiles(this.trainer!);
    if (!files) return status('The GPU device was lost before the first checkpoint: nothing to download.', true);
    download(which === 'G' ? files.G : files.D, which === 'G' ? 'generator.safetensors' : 'discriminator.safetensors');
  }
}
