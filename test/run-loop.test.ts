/**
 * The run loop the CLI and the page share (src/train/run-loop.ts), driven directly: a GPU device
 * lost mid-run ends the run with a clear error and leaves the last checkpoint whole and loadable.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCheckpointEvery } from '../src/cli/train.js';
import { latestCheckpoint, loadRun, saveRun } from '../src/checkpoints/run-files.js';
import { TrainingRun } from '../src/train/run-loop.js';
import { GanTrainer } from '../src/train/trainer.js';
import { TEST_CONFIG } from './helpers/config.js';
import { requestGpu } from '../src/gpu/gpu.js';
import { loadImageSet } from '../src/data/files.js';

const set = loadImageSet('mnist', 'train');
const config = { ...TEST_CONFIG, batchSize: 8, seed: 2 };

describe('run loop', () => {
  it('ends with a clear error when the device is lost mid-run, the last checkpoint intact and loadable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dcgan-lost-'));
    const gpu = await requestGpu({ backend: 'gles' });
    const trainer = await GanTrainer.create(gpu, set, config);
    const run = new TrainingRun(
      trainer,
      { maxSteps: 20, logEvery: 1, stepsPerSubmit: 1, checkpointEvery: { steps: 2 }, gridEvery: null },
      {
        save: async () => void (await saveRun(dir, trainer, {}, 3)),
        onSteps: ({ step }) => {
          if (step === 5) gpu.device.destroy(); // as a driver reset or a GPU fault would
        },
      },
    );
    await expect(run.run()).rejects.toThrow(/^GPU device lost \(reason: destroyed\)/);
    expect(latestCheckpoint(dir)).toBe(join(dir, 'checkpoints', 'step-00000004'));
    expect(readdirSync(join(dir, 'checkpoints')).filter((n) => n.startsWith('.'))).toEqual([]);

    const fresh = await requestGpu({ backend: 'gles' });
    try {
      const resumed = await GanTrainer.create(fresh, set, config);
      loadRun(dir, resumed);
      expect(resumed.globalStep).toBe(4);
    } finally {
      fresh.destroy();
    }
  });

  it('parses --checkpoint-every as steps or as a duration', () => {
    expect(parseCheckpointEvery('500')).toEqual({ steps: 500 });
    expect(parseCheckpointEvery('10m')).toEqual({ seconds: 600 });
    expect(parseCheckpointEvery('30s')).toEqual({ seconds: 30 });
    expect(parseCheckpointEvery('2h')).toEqual({ seconds: 7200 });
    for (const bad of ['0', '-5', '1.5', '10 min', 'm']) expect(() => parseCheckpointEvery(bad)).toThrow(/--checkpoint-every: expected N steps or N followed by s, m or h/);
  });

  it('never keeps an older checkpoint under the new step\'s name: the same state saves once, a different one is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dcgan-save-'));
    const gpu = await requestGpu({ backend: 'gles' });
    try {
      const a = await GanTrainer.create(gpu, set, config);
      await a.step();
      const saved = await saveRun(dir, a);
      const bytes = readFileSync(join(saved, 'generator.safetensors'));
      // Saved again at the same step (an epoch's end and the run's end): kept, nothing rewritten.
      expect(await saveRun(dir, a)).toBe(saved);
      // Another run (another seed) at the same step into the same directory: refused, the first kept.
      const b = await GanTrainer.create(gpu, set, { ...config, seed: 9 });
      await b.step();
      await expect(saveRun(dir, b)).rejects.toThrow(`${saved} already exists and holds a different checkpoint: refusing to save over it`);
      expect(readFileSync(join(saved, 'generator.safetensors')).equals(bytes)).toBe(true);
      // A resumed run that branches from an earlier step replaces the later step it reaches.
      await saveRun(dir, b, {}, Infinity, { replaceLater: true });
      expect(readFileSync(join(saved, 'generator.safetensors')).equals(bytes)).toBe(false);
      expect(latestCheckpoint(dir)).toBe(saved);
    } finally {
      gpu.destroy();
    }
  });
});
