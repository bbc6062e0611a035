/**
 * Runs made to fail, on gles: D made to win (G's learning rate 200 times below D's), and a
 * generator made to collapse (its first layer's weight zeroed, so every z draws the same image),
 * each warned about in the console and metrics.jsonl as the CLI does it.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliInProcess } from './helpers/cli.js';
import { useGpu } from './helpers/gpu.js';
import { TEST_CONFIG } from './helpers/config.js';
import { loadImageSet } from '../src/data/files.js';
import { GanTrainer } from '../src/train/trainer.js';
import { TrainingRun } from '../src/train/run-loop.js';
import type { HealthWarning } from '../src/train/health.js';
import { loadEvaluator } from '../src/eval/classifier-file.js';
import { GeneratorEvaluator } from '../src/eval/evaluate.js';
import { qualityScorer } from '../src/cli/quality-report.js';
import { loadStateDict, modelStateDict } from '../src/model/state-dict.js';

const rows = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('a failing run says so', () => {
  const gpu = useGpu('gles');

  it('warns when D wins: Loss_D near zero for 200 steps while Loss_G climbs, in the console and metrics.jsonl, with D(x) and D(G(z)) logged', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dcgan-dwins-'));
    const r = await cliInProcess('train', '--backend', 'gles', '--batch-size', '8', '--log-every', '10', '--max-steps', '220', '--lr', '1e-5', '--lr-d', '2e-3', '--out', out);
    expect(r.code, r.err).toBe(0);
    const said = r.out.split('\n').filter((l) => l.startsWith('warning'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^warning  step 2[01]0: D is winning: Loss_D under 0\.1 for the last 20\d steps while Loss_G rose from [\d.]+ to [\d.]+, so G learns little; try a lower --lr-d/);
    const metrics = rows(join(out, 'metrics.jsonl'));
    const warning = metrics.find((m) => m.kind === 'warning');
    expect(warning).toMatchObject({ warning: 'd-wins', message: expect.stringContaining('D is winning') });
    // What the warning read: D calls every real image real and every fake fake.
    const last = metrics.filter((m) => m.kind === undefined).at(-1);
    expect(last.d_x).toBeGreaterThan(0.99);
    expect(last.d_g_z).toBeLessThan(0.01);
  }, 300_000); // 220 steps: 21 s alone on a 2-core EPYC, over 120 s with three trainings beside it

  it('warns when samples collapse: their spread on the evaluator features far under the real images', async () => {
    const g = gpu();
    const trainer = await GanTrainer.create(g, loadImageSet('mnist', 'train'), { ...TEST_CONFIG, batchSize: 8, seed: 3, lr: 1e-9 });
    const first = (await modelStateDict(g, trainer.G, 0)).get('model.0.weight')!;
    const collapse = () => loadStateDict(g, trainer.G, new Map([['model.0.weight', { ...first, bytes: new Uint8Array(first.bytes.length) }]]));
    const evaluatorFile = loadEvaluator(g);
    const evaluator = await GeneratorEvaluator.create(g, trainer.G, evaluatorFile.model, evaluatorFile.reference, 100);
    const dir = mkdtempSync(join(tmpdir(), 'dcgan-collapse-'));
    const printed: string[] = [];
    const warnings: HealthWarning[] = [];
    const run = new TrainingRun(
      trainer,
      { maxSteps: 3, logEvery: 1, stepsPerSubmit: 1, checkpointEvery: null, gridEvery: null, evalEvery: 1 },
      {
        evaluate: qualityScorer(evaluator, join(dir, 'metrics.jsonl'), join(dir, 'quality.png'), (l) => printed.push(l)),
        onWarning: (w) => warnings.push(w),
        // G as initialised at step 1's score; from step 2 on, one image for every z.
        onSteps: ({ step }) => step === 2 && collapse(),
      },
    );
    await run.run();
    const spreads = rows(join(dir, 'metrics.jsonl')).map((m) => m.spread);
    // An initialised G spreads little (0.5% of the real images), the collapsed one a thousandth of that.
    expect(spreads[0]).toBeGreaterThan(1e-3);
    expect(spreads.slice(1).every((s: number) => s < spreads[0] / 1000)).toBe(true);
    // Scored at steps 1 to 3, said once.
    expect(warnings.map((w) => [w.kind, w.step])).toEqual([['collapse', 2]]);
    expect(warnings[0]!.message).toMatch(/^samples are collapsing: their spread on the evaluator's features fell to 0\.0% of the real images' \(from \d+\.\d% at best\)/);
    expect(printed.find((l) => l.startsWith('quality  step 2'))).toMatch(/^quality  step 2: FD [\d.]+ \(real data [\d.]+\), spread 0\.0%/);
  });
});
