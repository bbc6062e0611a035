/**
 * `train`: the reference notebook's DCGAN training run, on the GPU. `--help` for the flags.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { INIT_SCHEMES, type InitScheme } from '../gan/models.js';
import { encodePng } from '../gan/png.js';
import { ensureOutputDir, loadRun, lockRunDir, readRunConfig, removeTemporaries, runDirOf, saveRun, writeFileAtomic } from '../gan/run-files.js';
import { TrainingRun, type CheckpointEvery } from '../gan/run-loop.js';
import { lossCurve } from '../gan/images.js';
import { GeneratorEvaluator } from '../eval/evaluate.js';
import { loadEvaluator } from '../eval/classifier-file.js';
import { GanTrainer, REFERENCE_CONFIG, type TrainConfig } from '../gan/trainer.js';
import { RECIPE_NAMES, RECIPES, type Recipe } from '../gan/recipes.js';
import { BACKEND_ENV, BACKENDS, parseBackend } from '../gpu/backend.js';
import { requestGpu } from '../gpu/gpu.js';
import { loadImageSet } from '../mnist/files.js';
import { LOSSES, type Loss } from '../shaders/loss.js';
import { MATMUL_VARIANTS } from '../shaders/matmul.js';
import { CONV_PATHS, type ConvPath } from '../layers/layer.js';
import { TUNE_MODES, type TuneMode } from '../layers/matmul-tuner.js';
import { Progress } from './progress.js';
import { UsageError, oneOf, positiveInt, positiveNumber, runMain } from './args.js';
import { Profiler } from './profile.js';

const R = REFERENCE_CONFIG;
const HELP = `Usage: webgpu-dcgan train [options]      (in a clone: npm run train -- [options])

Trains the reference DCGAN (PyTorch notebook) on MNIST entirely on the GPU. Defaults are the
reference's; every one is a flag.

Model and optimiser:
  --latent-dim N      latent size (default ${R.latentDim})
  --batch-size N      images per batch (default ${R.batchSize}; the last batch of an epoch is kept, shorter)
  --epochs N          epochs (default ${R.epochs})
  --lr X              Adam learning rate (default ${R.lr}), G's and D's unless --lr-d
  --lr-d X            D's learning rate, when it should differ from G's (two time scales; default: --lr)
  --beta1 X           Adam beta1 (default ${R.beta1})
  --beta2 X           Adam beta2 (default ${R.beta2})
  --init NAME         ${INIT_SCHEMES.join('|')}: PyTorch's default init, or the DCGAN paper's N(0, 0.02) (default ${R.init})
  --loss NAME         ${LOSSES.join('|')}: BCELoss after Sigmoid as the reference, or fused BCE-with-logits (default ${R.loss})
  --real-label X      D's target for real images (default ${R.realLabel}; 0.9 is one-sided label smoothing)
  --recipe NAME       ${RECIPE_NAMES.join('|')}: a set of defaults (default reference, the notebook bit for bit;
                      improved: --init dcgan --real-label 0.9 --lr 0.0004 --lr-d 0.0001, which lowers FD,
                      see the README); flags win, so with it --lr sets G's rate alone
  --ema DECAY         also keep an exponential moving average of G's weights (e.g. 0.999), saved as
                      generator_ema.safetensors beside each checkpoint (sample/eval --ema use it)
  --lr-decay-from E   from epoch E on, both learning rates fall linearly per step to 0 at the end of
                      --epochs (pix2pix's schedule; default none: constant, as the reference). A resumed
                      run may add or move it while its step is still before the decay's start
  --seed N            seed for init, shuffling and noise (default ${R.seed}). It makes our runs repeatable
                      on the same adapter; it does not reproduce PyTorch's random numbers.
Data:
  --data NAME         mnist | fashion (Debian's dataset-fashion-mnist) | DIR with IDX files (default mnist)
Run length:
  --max-steps N       stop after N steps in all (a checkpoint and grid are written when it stops)
  --limit-batches N   use only the first N batches of each epoch
Output:
  --out DIR           checkpoints, grids, metrics.jsonl, loss curve (default out/, or the --resume run)
  --resume DIR        continue the run saved in DIR (a run directory: its latest checkpoint; or one
                      DIR/checkpoints/step-N), exactly; flags that contradict it are an error
  --checkpoint-every N|Nm|Ns
                      save a checkpoint every N steps, or every N minutes/seconds of training, besides
                      each epoch's end and the run's end (default 10m: a kill loses at most ~10 minutes)
  --keep K            checkpoints kept in DIR/checkpoints (default 3; the newest K)
  --eval-every N      every N steps, score G's samples with the evaluator (as \`eval\` does): rows with
                      "kind":"quality" in metrics.jsonl, quality_curve.png, and a warning when a class
                      falls under a third of its fair share (mode dropping)
  --eval-samples N    samples per in-run evaluation (default 10000)
  --log-every N       metrics.jsonl row every N steps (default 20); the console line stays at every 400
  --profile           per-kernel GPU time table and a Chrome trace (profile.json) after the run
  --quiet             print nothing but errors (no banner, progress bar or log lines); metrics.jsonl
                      is written as usual
GPU:
  --backend NAME      ${BACKENDS.join('|')} (default: $${BACKEND_ENV} or auto)
  --matmul NAME       auto|${MATMUL_VARIANTS.join('|')} (default auto: the fastest that fits each shape)
  --steps-per-submit N  training steps encoded in one command buffer and submitted at once (default:
                      1 on CPU adapters, 8 on GPUs, where it saves submit overhead); results are
                      identical for any N
  --tune MODE         ${TUNE_MODES.join('|')}: how auto picks a matmul variant (and an implicit conv GEMM's
                      register block) per shape: timed once per adapter and shape and cached
                      (quick: a short list; full: every variant), or a fixed table (off). Default $WEBGPU_DCGAN_TUNE or quick; the cache is
                      $WEBGPU_DCGAN_TUNE_CACHE or ~/.cache/webgpu-dcgan/matmul-tune.json
  --conv PATH         auto|implicit|explicit: convolutions as implicit GEMMs that read and write
                      NCHW tensors, or as im2col/col2im + matmul (the first implementation: 4x the
                      memory per image); auto (default): implicit except the 1-channel layers,
                      where explicit is faster and costs no extra memory
  -h, --help          this text

metrics.jsonl fields: epoch, step (steps done), batch (index in the epoch), d_loss, g_loss,
d_x (mean D(x) on the real batch), d_g_z (mean D(G(z)) on the fake batch before D's update),
lr_g and lr_d (the step's learning rates), steps_per_s, time (seconds since start).

Checkpoints: DIR/checkpoints/step-00000400/{generator,discriminator,optimizer}.safetensors, each
directory written whole and then made visible; DIR/checkpoints/latest links to the newest. A
crash or kill -9 at any moment leaves the latest complete checkpoint for --resume DIR.`;

const OPTIONS = {
  'latent-dim': { type: 'string' },
  'batch-size': { type: 'string' },
  epochs: { type: 'string' },
  lr: { type: 'string' },
  'lr-d': { type: 'string' },
  beta1: { type: 'string' },
  beta2: { type: 'string' },
  init: { type: 'string' },
  loss: { type: 'string' },
  seed: { type: 'string' },
  'real-label': { type: 'string' },
  ema: { type: 'string' },
  'lr-decay-from': { type: 'string' },
  recipe: { type: 'string' },
  data: { type: 'string' },
  'max-steps': { type: 'string' },
  'limit-batches': { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'string' },
  'log-every': { type: 'string', default: '20' },
  'checkpoint-every': { type: 'string', default: '10m' },
  'eval-every': { type: 'string' },
  'eval-samples': { type: 'string', default: '10000' },
  keep: { type: 'string', default: '3' },
  profile: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  backend: { type: 'string' },
  matmul: { type: 'string' },
  conv: { type: 'string' },
  tune: { type: 'string' },
  'steps-per-submit': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `--real-label`: a number in (0, 1]. */
function realLabel(value: string): number {
  const x = Number(value);
  if (value.trim() === '' || !(x > 0 && x <= 1)) throw new UsageError(`--real-label: expected a number in (0, 1], found "${value}"`);
  return x;
}

/** `--checkpoint-every`: N steps, or Nm / Ns / Nh of training time. */
export function parseCheckpointEvery(value: string): CheckpointEvery {
  const m = /^(\d+)([smh]?)$/.exec(value.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--checkpoint-every: expected N steps or N followed by s, m or h (e.g. 500, 10m), found "${value}"`);
  }
  return m[2] ? { seconds: n * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] } : { steps: n };
}

/**
 * metrics.jsonl as it stands at `step`: a run killed after its last checkpoint wrote rows the
 * resumed run writes again, and a kill mid-append can leave half a line; both are dropped.
 */
function metricsUpTo(file: string, step: number): string {
  if (!existsSync(file)) return '';
  const rows = readFileSync(file, 'utf8').split('\n').filter((line) => {
    try {
      return (JSON.parse(line) as { step: number }).step <= step;
    } catch {
      return false;
    }
  });
  return rows.map((r) => `${r}\n`).join('');
}

/** Runs the command with its flags (argv after the command name); sets the exit code. */
export function main(args: string[]): Promise<void> {
  return runMain(async () => {
  const { values: v } = parseArgs({
    args, options: OPTIONS, strict: true, allowPositionals: false });
  if (v.help) return console.log(HELP);

  // Configuration: flags over the checkpoint (when resuming) over the recipe over the reference.
  if (v.resume && v.recipe) throw new UsageError('--recipe: a resumed run keeps the configuration saved in its checkpoint');
  const recipe = oneOf<Recipe>(v.recipe, '--recipe', RECIPE_NAMES, 'reference');
  let base: TrainConfig = { ...R, ...RECIPES[recipe] };
  let data = v.data ?? 'mnist';
  if (v.resume) {
    if (!existsSync(v.resume)) throw new UsageError(`--resume: ${v.resume} not found`);
    const { config, meta } = readRunConfig(v.resume);
    base = { ...base, ...config };
    const given: Array<[string, string | undefined, string]> = [
      ['--latent-dim', v['latent-dim'], String(config.latentDim)],
      ['--batch-size', v['batch-size'], String(config.batchSize)],
      ['--seed', v.seed, String(config.seed)],
      ['--lr', v.lr, String(config.lr)],
      ['--lr-d', v['lr-d'], String(config.lrD ?? config.lr)],
      ['--beta1', v.beta1, String(config.beta1)],
      ['--beta2', v.beta2, String(config.beta2)],
      ['--init', v.init, String(config.init)],
      ['--loss', v.loss, String(config.loss)],
      ['--real-label', v['real-label'], String(config.realLabel)],
      ['--ema', v.ema, String(config.ema)],
      ['--data', v.data, meta.data ?? 'mnist'],
    ];
    for (const [flag, value, saved] of given) {
      if (value !== undefined && Number(value) !== Number(saved) && value !== saved) {
        throw new UsageError(`${flag} ${value} contradicts the checkpoint in ${v.resume}, which has ${saved}`);
      }
    }
    const decay = v['lr-decay-from'];
    if (decay !== undefined && decay !== String(base.lrDecayFrom ?? 'none')) {
      // Exact only while no step so far ran under either schedule's decay.
      const at = (e: number | null) => e === null || Number(meta.epoch) < e || (Number(meta.epoch) === e && Number(meta.batch_index) === 0);
      const wanted = lrDecayFrom(decay, null);
      if (!at(base.lrDecayFrom) || !at(wanted)) {
        throw new UsageError(`--lr-decay-from ${decay} contradicts the checkpoint in ${v.resume} (${base.lrDecayFrom ?? 'none'}), which is at epoch ${meta.epoch} batch ${meta.batch_index}: past the decay's start`);
      }
    }
    data = meta.data ?? 'mnist';
  }
  const config: TrainConfig = {
    latentDim: v['latent-dim'] ? positiveInt(v['latent-dim'], '--latent-dim') : base.latentDim,
    batchSize: v['batch-size'] ? positiveInt(v['batch-size'], '--batch-size') : base.batchSize,
    epochs: v.epochs ? positiveInt(v.epochs, '--epochs') : base.epochs,
    lr: v.lr ? positiveNumber(v.lr, '--lr') : base.lr,
    lrD: v['lr-d'] ? positiveNumber(v['lr-d'], '--lr-d') : base.lrD,
    beta1: v.beta1 ? positiveNumber(v.beta1, '--beta1', 0, 1) : base.beta1,
    beta2: v.beta2 ? positiveNumber(v.beta2, '--beta2', 0, 1) : base.beta2,
    seed: v.seed ? positiveInt(v.seed, '--seed', 0) : base.seed,
    init: oneOf<InitScheme>(v.init, '--init', INIT_SCHEMES, base.init),
    loss: oneOf<Loss>(v.loss, '--loss', LOSSES, base.loss),
    realLabel: v['real-label'] ? realLabel(v['real-label']) : base.realLabel,
    ema: v.ema ? positiveNumber(v.ema, '--ema', 0, 1) : base.ema,
    lrDecayFrom: lrDecayFrom(v['lr-decay-from'], base.lrDecayFrom),
    matmul: oneOf(v.matmul, '--matmul', ['auto', ...MATMUL_VARIANTS], 'auto'),
    tune: oneOf<TuneMode>(v.tune ?? process.env.WEBGPU_DCGAN_TUNE, v.tune ? '--tune' : 'WEBGPU_DCGAN_TUNE', TUNE_MODES, 'quick'),
    conv: oneOf<ConvPath>(v.conv, '--conv', CONV_PATHS, 'auto'),
    dPasses: base.dPasses,
  };
  const maxSteps = v['max-steps'] ? positiveInt(v['max-steps'], '--max-steps') : null;
  const limitBatches = v['limit-batches'] ? positiveInt(v['limit-batches'], '--limit-batches') : null;
  const logEvery = positiveInt(v['log-every'], '--log-every');
  const stepsPerSubmitFlag = v['steps-per-submit'] ? positiveInt(v['steps-per-submit'], '--steps-per-submit') : null;
  const checkpointEvery = parseCheckpointEvery(v['checkpoint-every']);
  const evalEvery = v['eval-every'] ? positiveInt(v['eval-every'], '--eval-every') : null;
  const evalSamples = positiveInt(v['eval-samples'], '--eval-samples', 2);
  const keep = positiveInt(v.keep, '--keep');
  const outDir = v.out ?? (v.resume ? runDirOf(v.resume) : 'out');
  ensureOutputDir(outDir);
  const unlock = lockRunDir(outDir);
  try {
    removeTemporaries(outDir);
    mkdirSync(join(outDir, 'images'), { recursive: true });
    await train(v, config, { data, outDir, maxSteps, limitBatches, logEvery, stepsPerSubmitFlag, checkpointEvery, keep, evalEvery, evalSamples });
  } finally {
    unlock();
  }
});
}

/** `--lr-decay-from`: an epoch (integer >= 0) or none. */
function lrDecayFrom(value: string | undefined, fallback: number | null): number | null {
  if (value === undefined) return fallback;
  return value === 'none' ? null : positiveInt(value, '--lr-decay-from', 0);
}

/** The flags the run reads beyond its configuration. */
interface Flags {
  backend?: string;
  resume?: string;
  quiet?: boolean;
  profile?: boolean;
}

interface RunSettings {
  data: string;
  outDir: string;
  maxSteps: number | null;
  limitBatches: number | null;
  logEvery: number;
  stepsPerSubmitFlag: number | null;
  checkpointEvery: CheckpointEvery;
  keep: number;
  evalEvery: number | null;
  evalSamples: number;
}

/** The run itself, in a locked output directory. */
async function train(v: Flags, config: TrainConfig, s: RunSettings): Promise<void> {
  const { data, outDir, maxSteps, limitBatches, logEvery, stepsPerSubmitFlag, checkpointEvery, keep, evalEvery, evalSamples } = s;
  const set = loadImageSet(data, 'train');
  const gpu = await requestGpu(v.backend ? { backend: parseBackend(v.backend) } : {});
  let interrupted = false;
  let onStop = () => {};
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    onStop();
    console.error('\ninterrupted: finishing this step, then saving (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);
  // --quiet: our own lines go nowhere; errors still reach stderr through runMain.
  const say = v.quiet ? () => {} : (line: string) => console.log(line);
  try {
    say(`adapter  ${gpu.describe()}`);
    say(`data     ${set.count} images ${set.height}x${set.width} from ${set.source}`);
    GanTrainer.tuneLog = say;
    const stepsPerSubmit = stepsPerSubmitFlag ?? (gpu.isSoftware ? 1 : 8);
    const trainer = await GanTrainer.create(gpu, set, config);
    trainer.batchLimit = limitBatches;
    if (v.resume) {
      loadRun(v.resume, trainer);
      say(`resumed  ${v.resume} at epoch ${trainer.epoch}, batch ${trainer.batchIndex}, step ${trainer.globalStep}`);
    }
    const profiler = v.profile ? new Profiler() : null;
    const classifier = evalEvery ? loadEvaluator(gpu) : null;
    const evaluator = classifier ? await GeneratorEvaluator.create(gpu, trainer.G, classifier.model, classifier.reference, evalSamples) : null;
    const quality: Array<{ step: number; fd: number }> = [];
    const metricsFile = join(outDir, 'metrics.jsonl');
    writeFileSync(metricsFile, v.resume ? metricsUpTo(metricsFile, trainer.globalStep) : '');
    const start = performance.now();
    let progress: Progress | null = null;
    const run = new TrainingRun(
      trainer,
      { maxSteps, logEvery, stepsPerSubmit, checkpointEvery, gridEvery: null, evalEvery },
      {
        onSteps: (at) => progress!.tick(at.step, at.epoch, config.epochs, at.batch, at.batches, at.stepsPerSecond),
        onLogLine: (line) => progress!.print(line),
        onMetrics: (row) => appendFileSync(metricsFile, `${JSON.stringify(row)}\n`),
        onGrid: (grid, name) => writeFileAtomic(join(outDir, 'images', name), encodePng(grid)),
        save: async () => void (await saveRun(outDir, trainer, { data }, keep)),
        evaluate: async (step, epoch) => {
          const q = await evaluator!.evaluate(0);
          const row = { kind: 'quality', epoch, step, fd: q.fd, fd_floor: evaluator!.reference.floor, confidence: q.confidence, max_min_ratio: q.maxMinRatio, histogram: q.histogram, samples: q.n };
          appendFileSync(metricsFile, `${JSON.stringify(row)}\n`);
          quality.push({ step, fd: q.fd });
          if (quality.length > 1) {
            const chart = lossCurve(quality.map((p) => p.step), [{ values: quality.map((p) => p.fd), color: [44, 160, 44], label: 'FD' }]);
            writeFileAtomic(join(outDir, 'quality_curve.png'), encodePng(chart));
          }
          progress!.print(`quality  step ${step}: FD ${q.fd.toFixed(2)} (real data ${evaluator!.reference.floor.toFixed(2)}), confidence ${q.confidence.toFixed(3)}, max/min class ${q.maxMinRatio.toFixed(2)}`);
          if (q.rareClasses.length) progress!.print(`warning  step ${step}: classes ${q.rareClasses.join(', ')} under a third of their fair share (mode dropping)`);
        },
      },
    );
    const every = 'steps' in checkpointEvery ? `${checkpointEvery.steps} steps` : `${checkpointEvery.seconds / 60} min`;
    say(`run      ${config.epochs} epochs x ${trainer.batchesPerEpoch} batches of ${config.batchSize}${maxSteps ? `, stopping at step ${maxSteps}` : ''}; output in ${outDir} (checkpoint every ${every}, keeping ${keep})`);
    progress = new Progress(run.totalSteps, trainer.globalStep, !!v.quiet);
    onStop = () => run.stop();
    if (interrupted) run.stop();
    await run.run();
    progress.done();
    const chart = run.lossChart();
    if (chart) writeFileAtomic(join(outDir, 'loss_curve.png'), encodePng(chart));
    const seconds = (performance.now() - start) / 1000;
    say(`done     step ${trainer.globalStep} (epoch ${trainer.epoch}, batch ${trainer.batchIndex}) in ${seconds.toFixed(1)} s; checkpoint, grids and metrics in ${outDir}`);
    if (profiler) await profiler.report(trainer, outDir);
    if (interrupted) process.exitCode = 130;
  } finally {
    process.off('SIGINT', onSigint);
    gpu.destroy();
  }
}
