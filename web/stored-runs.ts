/**
 * The page's use of its checkpoint store (web/checkpoint-store.ts): a checkpoint's files from
 * the trainer (the CLI's bytes), each checkpoint written to IndexedDB as its run's last, and the
 * row that offers the newest stored run after a reload (resume it, download its generator, or
 * forget them all).
 */
import { FILES } from '../src/model/state-dict.js';
import { runStateFiles } from '../src/checkpoints/run-state.js';
import type { GanTrainer } from '../src/train/trainer.js';
import { clearRuns, putRun, savedRuns, type SavedRun } from './checkpoint-store.js';
import { $, button, download, state } from './page.js';

/** A checkpoint kept on the host (it survives a lost device): every file, and the two models' for downloads. */
export interface HostCheckpoint {
  step: number;
  G: Uint8Array;
  D: Uint8Array;
  all: Array<[string, Uint8Array]>;
}

/** The checkpoint files of the trainer's state. */
export async function checkpointFiles(t: GanTrainer): Promise<HostCheckpoint> {
  const all = await runStateFiles(t);
  const file = (name: string) => all.find(([n]) => n === name)![1];
  return { step: t.globalStep, G: file(FILES.G), D: file(FILES.D), all };
}

/** Writes the trainer's checkpoint (`saved`, just taken) to the store as run `runId`'s last. */
export async function storeCheckpoint(t: GanTrainer, runId: number, saved: HostCheckpoint): Promise<void> {
  await putRun({ id: runId, savedAt: Date.now(), step: t.globalStep, epoch: t.epoch, batchIndex: t.batchIndex, batchSize: t.config.batchSize, seed: t.config.seed, files: saved.all });
  state.savedStep = saved.step;
}

/** What a stored run resumes into: the page's training controls. */
export interface ResumeTarget {
  readonly trainer: GanTrainer | null;
  readonly running: boolean;
  /** Builds the trainer from the stored run; false when it cannot (the reason is shown). */
  build(from: SavedRun): Promise<boolean>;
}

/** The newest stored run, if any: offered for resuming or downloading after a reload. */
export class StoredRuns {
  private newest: SavedRun | null = null;

  constructor(private readonly target: ResumeTarget) {}

  /** Reads the store again and shows what it holds. */
  show(): void {
    void savedRuns()
      .then((runs) => {
        const stored = (this.newest = runs[runs.length - 1] ?? null);
        $('stored-status').textContent = stored
          ? `Saved in this browser: a run at step ${stored.step} (epoch ${stored.epoch + 1}, batch ${stored.batchSize}, seed ${stored.seed}), ${new Date(stored.savedAt).toLocaleString()}${runs.length > 1 ? `; ${runs.length} runs kept` : ''}.`
          : 'No checkpoint saved in this browser.';
        button('stored-resume').disabled = !stored || this.target.trainer !== null;
        button('stored-download').disabled = !stored;
        button('stored-clear').disabled = runs.length === 0;
        if (state.storedStep === undefined) state.storedStep = stored?.step ?? null;
      })
      .catch((err) => ($('stored-status').textContent = `Saved checkpoints unavailable: ${(err as Error).message}`));
  }

  listen(): void {
    $('stored-resume').addEventListener('click', async () => {
      const { newest, target } = this;
      if (!newest || target.trainer || target.running) return;
      if (await target.build(newest)) $('start').click();
    });
    $('stored-download').addEventListener('click', () => {
      const g = this.newest?.files.find(([name]) => name === FILES.G);
      if (g) download(g[1], FILES.G);
    });
    $('stored-clear').addEventListener('click', () => void clearRuns().then(() => this.show()));
  }
}
