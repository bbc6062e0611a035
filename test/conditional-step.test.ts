/**
 * Whole-step parity of conditional training, of the hinge loss and of spectral normalisation with
 * PyTorch (test/fixtures/conditional, hinge, spectral and sngan.safetensors, scripts/fixtures/conditional_fixture.py):
 * for each head, the same initial weights, real batches with their labels (G asked for the same
 * classes) and z, 3 steps through the StepPlan the CLI trains with; losses, every parameter, BN
 * running stats and Adam moments, at test/step.test.ts's tolerances (test/helpers/step-parity.ts
 * states and justifies them).
 */
import { describe, expect, it } from 'vitest';
import type { LossName } from '../src/train/gan-loss.js';
import { GanTrainer } from '../src/train/trainer.js';
import { TEST_CONFIG } from './helpers/config.js';
import type { DPasses } from '../src/model/limits.js';
import type { Head } from '../src/shaders/conditional.js';
import type { DNorm } from '../src/model/models.js';
import { loadImageSet } from '../src/data/files.js';
import { normalizationTable } from '../src/data/normalize.js';
import { compareClose } from './helpers/compare.js';
import { loadFixture } from './helpers/fixtures.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';
import { hashTensor, type HashSpec } from './helpers/hashdata.js';
import { expectStateMatches } from './helpers/step-parity.js';

/** A fixture's metadata (scripts/fixtures/conditional_fixture.py writes both groups). */
interface StepFixtureMeta {
  batch: number;
  steps: number;
  classes: number;
  /** The fixture's heads; `none`: the unconditional pair, D ending in its logit. */
  heads: Array<Head | 'none'>;
  /** Each head's first image: the start where PyTorch's own float32 and float64 runs agree (the fixture script says why). */
  first: Record<string, number>;
  init: Record<string, Record<'g' | 'd', Record<string, HashSpec>>>;
  /** D spectrally normalised: its init specs name the unwrapped `weight`, written to `weight_orig`. */
  spectral_norm?: boolean;
  /** none: D without its BatchNorm2d (train --d-norm none). */
  d_norm?: DNorm;
}

const set = loadImageSet('mnist', 'train');
const table = normalizationTable();

/**
 * One fixture group's parity: `conditional` (bce, both heads) and `hinge` (the hinge loss: the
 * unconditional pair and both heads). `cases(backend)`: which heads and D-pass modes run there.
 */
function parity(group: 'conditional' | 'hinge' | 'spectral' | 'sngan', loss: LossName, cases: (backend: string) => Array<[Head | 'none', DPasses]>) {
  const fixture = loadFixture(group);
  const meta = JSON.parse(fixture.metadata[group]!) as StepFixtureMeta;
  const B = meta.batch;
  const realBatch = (first: number, step: number) => {
    const px = set.height * set.width;
    return Float32Array.from(set.pixels.subarray((first + step * B) * px, (first + (step + 1) * B) * px), (b) => table[b]!);
  };

  describe.each(TEST_BACKENDS.filter((b) => cases(b).length > 0))(`${group} training step parity with PyTorch (--loss ${loss}) on %s`, (backend) => {
    const gpu = useGpu(backend);

    it.each(cases(backend))(`matches ${meta.steps} steps of the reference loop (%s head, D passes %s)`, async (head, dPasses) => {
      const g = gpu();
      const ref = (key: string) => fixture.values(`${head}.${key}`) as Float32Array;
      const conditional = head === 'none' ? {} : { conditional: head, classes: meta.classes };
      const spectralNorm = meta.spectral_norm === true;
      const trainer = await GanTrainer.create(g, null, { ...TEST_CONFIG, batchSize: B, dPasses, loss, spectralNorm, dNorm: meta.d_norm ?? 'batch', ...conditional });
      const classes = head === 'none' ? 0 : meta.classes;
      expect(trainer.G.namedParamSpecs()[0]!.shape).toEqual([128 * 7 * 7, 100 + classes]);
      expect(trainer.D.namedParamSpecs().at(-1)!.shape).toEqual([1 + classes]);
      for (const [prefix, model] of [['g', trainer.G], ['d', trainer.D]] as const) {
        for (const [name, spec] of Object.entries(meta.init[head]![prefix])) {
          const wrapped = spectralNorm && prefix === 'd' && name.endsWith('.weight') ? `${name}_orig` : name;
          g.write(model.params.view('param', wrapped), hashTensor(spec));
        }
      }
      const first = meta.first[head]!;
      for (let step = 0; step < meta.steps; step++) {
        const labels = ref(`y${step}`);
        expect(Array.from(labels), 'the fixture\'s labels are the data set\'s').toEqual(Array.from(set.labels.subarray(first + step * B, first + (step + 1) * B)));
        const plan = await trainer.stepWith(realBatch(first, step), ref(`z${step}`), B, head === 'none' ? undefined : labels);
        const s = await trainer.stats(plan);
        expect(compareClose([s.dLoss], ref(`d_loss${step}`), { rtol: 1e-4, floor: 0 }), `d_loss step ${step}`).toBeNull();
        expect(compareClose([s.gLoss], ref(`g_loss${step}`), { rtol: 1e-4, floor: 0 }), `g_loss step ${step}`).toBeNull();
      }
      expect(await trainer.firstNonFiniteStep()).toBeNull();
      await expectStateMatches(g, trainer, ref, meta.steps, `${backend} ${head}`);
    }, 300_000); // SwiftShader compiles a step's kernels for each new form (separate passes, spectral normalisation) on a shared 2-core machine
  });
}

// Both heads and both D-pass modes on gles (the fast compiler); the default head, merged, on SwiftShader.
parity('conditional', 'bce', (backend) => (backend === 'gles' ? [['projection', 'merged'], ['acgan', 'merged'], ['projection', 'separate']] : [['projection', 'merged']]));
// Spectral normalisation of D with the hinge loss (SNGAN's pair): unconditional and projection on gles, unconditional on SwiftShader; D's passes separate, as a power iteration per D forward needs.
parity('spectral', 'hinge', (backend) => (backend === 'gles' ? [['none', 'separate'], ['projection', 'separate']] : [['none', 'separate']]));
// SNGAN's D: the same without D's BatchNorm (--d-norm none), unconditional and projection on gles.
parity('sngan', 'hinge', (backend) => (backend === 'gles' ? [['none', 'separate'], ['projection', 'separate']] : []));
// The hinge loss unconditional and with each head on gles; unconditional on SwiftShader.
parity('hinge', 'hinge', (backend) => (backend === 'gles' ? [['none', 'merged'], ['projection', 'merged'], ['acgan', 'merged'], ['none', 'separate']] : [['none', 'merged']]));
