/**
 * `train`: the reference notebook's DCGAN training run, on the GPU. `--help` for the flags.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { archDefaults, isDcgan } from '../model/models.js';
import { encodePng } from '../image/png.js';
import { CHECKPOINTS, ensureOutputDir, holdsRun, loadRun, lockRunDir, moveRunAside, readRunConfig, removeTemporaries, removeUncommitted, runDirOf, saveRun, writeFileAtomic } from '../checkpoints/run-files.js';
import { runPosition } from '../checkpoints/run-state.js';
import { TrainingRun, type CheckpointEvery } from '../train/run-loop.js';
import { GeneratorEvaluator } from '../eval/evaluate.js';
import { qualityScorer } from './quality-report.js';
import { classReferenceFor, evaluatorInfoOf, loadEvaluator } from '../eval/classifier-file.js';
import { classMismatch } from '../eval/classifier.js';
import { GanTrainer, checkTrainConfig } from '../train/trainer.js';
import { REFERENCE_CONFIG, formatSetting, recipeAsFlags, resumeRefusal, type SettingKey, type TrainConfig } from '../train/settings.js';
import { sectionFlags } from './setting-flags.js';
import { RECIPE_NAMES, RECIPES } from '../train/recipes.js';
import { requestGpu } from '../gpu/gpu.js';
import { loadTrainingData } from '../data/files.js';
import type { ImageSet } from '../data/idx.js';
import { folderWarnings } from './folder-report.js';
import { DEFAULT_HEAD, HEADS } from '../shaders/conditional.js';
import { Progress } from './progress.js';
import { UsageError, runMain } from './args.js';
import { backendFlag, dataCache, dataCacheFlag, dataFlag } from './common-flags.js';
import { HELP_FLAG, bool, choice, custom, flagHelp, int, parseFlags, text, type Flag, type FlagValues } from './flags.js';
import { StopSignals } from './stop-signals.js';
import { Profiler } from './profile.js';

/** `--checkpoint-every`: N steps, or Nm / Ns / Nh of training time. */
export function parseCheckpointEvery(value: string, source = '--checkpoint-every'): CheckpointEvery {
  const m = /^(\d+)([smh]?)$/.exec(value.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${source}: expected N steps or N followed by s, m or h (e.g. 500, 10m), found "${value}"`);
  }
  return m[2] ? { seconds: n * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] } : { steps: n };
}

/**
 * Every flag of `train`, in --help's order: the settings' flags come from src/train/settings.ts
 * (sectionFlags); the rest say how to run, not what to train.
 */
export const TRAIN_FLAGS = {
  ...sectionFlags('Model and optimiser'),
  recipe: choice(RECIPE_NAMES, `a set of defaults: reference, the notebook bit for bit; improved: ${recipeAsFlags('improved')}, for data without classes (chosen on MNIST, where it halves FD; on colour icons 10-26% below the reference from 1,000 to 5,000 steps, two seeds); classes: ${recipeAsFlags('classes')}, the improved settings conditioned on the data's classes, for data with classes (class subfolders, or MNIST's and Fashion-MNIST's labels): the lowest FD measured on MNIST and Fashion-MNIST, and on colour icons at 1,000, 4,000 and 5,000 steps (level at 3,000); 42-85% below the reference's (docs/quality.md, "Recipes for other data"). Flags win, so with improved or classes --lr sets G's rate alone`, { default: 'reference' }),
  conditional: bool("train a class-conditional pair on the data's labels: G draws the class it is given, D judges image and class (sample --class K draws one class; each grid shows one class per row)"),
  head: choice(HEADS, "D's conditioning with --conditional: projection (logit = psi(phi(x)) + <embed(y), phi(x)>, Miyato & Koyama 2018) or acgan (an auxiliary classifier head with a cross-entropy term, Odena et al. 2017)", { shownDefault: DEFAULT_HEAD }),
  data: dataFlag('Data'),
  'data-cache': dataCacheFlag(),
  ...sectionFlags('Data', false),
  'strict-data': bool('refuse an image folder at its first unreadable image (default: name it, skip it, and count it)'),
  'max-steps': int('stop after N steps in all (a checkpoint and grid are written when it stops)', { section: 'Run length' }),
  'limit-batches': int('use only the first N batches of each epoch'),
  out: text('checkpoints, grids, metrics.jsonl, loss curve', { arg: 'DIR', section: 'Output', shownDefault: 'out/, or the --resume run' }),
  resume: text('continue the run saved in DIR (a run directory: its latest checkpoint; or one DIR/checkpoints/step-N), exactly; flags that contradict it are an error', { arg: 'DIR' }),
  overwrite: bool('train into an --out directory that already holds another run: its files are moved aside into DIR/replaced-<time>/ (nothing is deleted). Without it such a directory is refused'),
  'checkpoint-every': custom('N|Nm|Ns', 'save a checkpoint every N steps, or every N minutes/seconds of training, besides each epoch\'s end and the run\'s end (a kill -9 loses at most that much)', parseCheckpointEvery, { default: { seconds: 600 } as CheckpointEvery, shownDefault: '10m' }),
  keep: int('checkpoints kept in DIR/checkpoints (the newest K); a resumed run keeps its own --keep and --checkpoint-every unless given (a run saved without them, by older versions: the defaults)', { arg: 'K', default: 3 }),
  'eval-every': int('every N steps, score G\'s samples with the evaluator (as `eval` does): rows with "kind":"quality" in metrics.jsonl, quality_curve.png, and a warning when a class falls under a third of its fair share (mode dropping)'),
  'eval-samples': int('samples per in-run evaluation', { min: 2, default: 10000 }),
  evaluator: text("--eval-every's classifier file: train-classifier --data DIR --out FILE makes one for this run's images (FD and KID rows)", { arg: 'FILE', shownDefault: 'models/mnist-classifier.safetensors' }),
  'log-every': int('metrics.jsonl row every N steps; the console line stays at every 400', { default: 20 }),
  profile: bool('after the run, one more step with every kernel timed against the adapter\'s roofline (GEMM and stream roofs, measured once): a table and a Chrome trace, profile.json'),
  quiet: bool('print nothing but errors (no banner, progress bar or log lines); metrics.jsonl is written as usual', { short: 'q' }),
  backend: backendFlag('GPU'),
  ...sectionFlags('GPU', false),
  'steps-per-submit': int('training steps encoded in one command buffer and submitted at once (results are identical for any N)', { shownDefault: '1 on CPU adapters, 8 on GPUs' }),
  ...HELP_FLAG,
};

type TrainValues = FlagValues<typeof TRAIN_FLAGS>;

const HELP = `Usage: webgpu-dcgan train [options]      (in a clone: npm run train -- [options])

Trains the reference DCGAN (PyTorch notebook) on MNIST entirely on the GPU, or a model of your
images (--data DIR: a folder of PNG/JPEG files; --arch dcgan: pytorch/examples' dcgan at 64x64, or
at 32, 128 or 256 pixels with --image-size).
Defaults are the reference's; every one is a flag.

${flagHelp(TRAIN_FLAGS)}

metrics.jsonl fields: epoch, step (steps done), batch (index in the epoch), d_loss, g_loss,
d_x (mean D(x) on the real batch), d_g_z (mean D(G(z)) on the fake batch before D's update),
lr_g and lr_d (the step's learning rates), steps_per_s, time (seconds since start). Rows with
"kind":"quality" hold --eval-every's scores, rows with "kind":"warning" what the run warned of.

Warnings, each naming what to try: D winning (Loss_D under 0.1 for 200 steps while Loss_G
climbs), collapse (with --eval-every: the samples' feature spread fell under 25% of the real
images' and under half its best), and a loss that is no longer finite (the run stops, unsaved).

Checkpoints: DIR/checkpoints/step-00000400/{generator,discriminator,optimizer}.safetensors, each
directory written whole and then made visible; DIR/checkpoints/latest links to the newest. A
crash or kill -9 at any moment leaves the latest complete checkpoint for --resume DIR. Ctrl-C,
SIGTERM and SIGHUP finish the step, save, and exit with 128 + the signal's number.`;

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

/** TRAIN_FLAGS as rows: the settings' flags carry the setting they set. */
const FLAG_ROWS = Object.entries(TRAIN_FLAGS as Record<string, Flag<unknown> & { setting?: SettingKey }>);

/**
 * The settings the command line gives (aliases folded in), by setting key; with `env`, also
 * those an environment variable gives when their flag is absent (--tune's $WEBGPU_DCGAN_TUNE).
 */
function givenSettings(v: TrainValues, given: Set<string>, env = false): Map<SettingKey, { flag: string; value: unknown }> {
  const out = new Map<SettingKey, { flag: string; value: unknown }>();
  const values = v as Record<string, unknown>;
  for (const [flag, f] of FLAG_ROWS) {
    if (!f.setting || !(given.has(flag) || (env && f.env && values[flag] !== undefined))) continue;
    const value = values[flag];
    const other = out.get(f.setting);
    if (other && given.has(other.flag) && other.value !== value) throw new UsageError(`--${flag} ${formatSetting(f.setting, value as never)} contradicts --${other.flag} ${formatSetting(f.setting, other.value as never)}: they are one setting`);
    out.set(f.setting, { flag, value });
  }
  return out;
}

/** `--checkpoint-every`'s value as the flag takes it (a checkpoint's metadata keeps it so). */
const formatCheckpointEvery = (e: CheckpointEvery) => ('steps' in e ? String(e.steps) : `${e.seconds}s`);

/** How often a run saves and how many checkpoints it keeps. */
interface Retention {
  keep: number;
  checkpointEvery: CheckpointEvery;
}

/**
 * --keep and --checkpoint-every: as given, else a resumed run's own (`saved`: its checkpoint's
 * metadata and file), else the defaults; so resuming a run started with --keep 100 does not
 * prune it to 3.
 */
function retention(v: TrainValues, given: Set<string>, saved: { meta: Record<string, string>; file: string } | null): Retention {
  const meta = saved?.meta ?? {};
  const keep = given.has('keep') || meta.keep === undefined ? v.keep : Number(meta.keep);
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`${saved!.file}: metadata "keep": expected a positive integer, found ${JSON.stringify(meta.keep)}`);
  const every = given.has('checkpoint-every') || meta.checkpoint_every === undefined ? v['checkpoint-every'] : parseCheckpointEvery(meta.checkpoint_every, `${saved!.file}: metadata "checkpoint_every"`);
  return { keep, checkpointEvery: every };
}

/** A resumed run's saved configuration and data, refusing given settings that contradict it. */
function resumedBase(dir: string, v: TrainValues, given: Set<string>, settings: Map<SettingKey, { flag: string; value: unknown }>, base: TrainConfig): { base: TrainConfig; data: string; saved: { meta: Record<string, string>; file: string } } {
  if (!existsSync(dir)) throw new UsageError(`--resume: ${dir} not found`);
  const { config, meta, file } = readRunConfig(dir);
  const saved = { ...base, ...config };
  const savedData = meta.data ?? 'mnist';
  if (given.has('data') && v.data !== savedData) throw new UsageError(`--data ${v.data} contradicts the checkpoint in ${dir}, which has ${savedData}`);
  const refused = resumeRefusal(saved, Object.fromEntries([...settings].map(([key, { value }]) => [key, value])), runPosition(meta));
  if (refused) throw new UsageError(`--${settings.get(refused.key)!.flag} ${refused.text} contradicts the checkpoint in ${dir}${refused.why}`);
  return { base: saved, data: savedData, saved: { meta, file } };
}

/**
 * The run's configuration: flags over the checkpoint (when resuming) over the recipe over the
 * reference. A resumed run refuses flags that contradict what its checkpoint saved.
 */
export function trainConfig(v: TrainValues, given: Set<string>): { config: TrainConfig; data: string; retention: Retention } {
  if (v.resume && given.has('recipe')) throw new UsageError('--recipe: a resumed run keeps the configuration saved in its checkpoint');
  const settings = givenSettings(v, given);
  const recipe = { ...REFERENCE_CONFIG, ...RECIPES[v.recipe] };
  const resumed = v.resume ? resumedBase(v.resume, v, given, settings, recipe) : null;
  const base = resumed?.base ?? recipe;
  const config = { ...base };
  const arch = (settings.get('arch')?.value as TrainConfig['arch'] | undefined) ?? base.arch;
  for (const flag of ['ngf', 'ndf'] as const) {
    if (given.has(flag) && !isDcgan(arch)) throw new UsageError(`--${flag}: only the dcgan model has that width; add --arch dcgan (the reference's widths are fixed)`);
  }
  if (!v.resume && given.has('arch') && arch !== REFERENCE_CONFIG.arch) {
    // A family's own defaults (a recipe keeps its init).
    const d = archDefaults(arch);
    if (!given.has('image-size')) config.imageSize = d.size;
    if (!given.has('init') && !given.has('recipe')) config.init = d.init;
  }
  if (given.has('head') && !v.conditional && base.conditional === 'none') throw new UsageError('--head: only a conditional model has a head; add --conditional');
  if (v.conditional || given.has('head')) {
    const wanted = v.head ?? (base.conditional === 'none' ? DEFAULT_HEAD : base.conditional);
    if (v.resume && base.conditional !== wanted) {
      throw new UsageError(`--conditional${given.has('head') ? ` --head ${wanted}` : ''} contradicts the checkpoint in ${v.resume}, which is ${base.conditional === 'none' ? 'unconditional' : `conditional with the ${base.conditional} head`}`);
    }
    config.conditional = wanted;
  }
  for (const [key, { value }] of givenSettings(v, given, true)) (config as Record<string, unknown>)[key] = value;
  // Before any data loads: the data may still set channels and classes, checked again then.
  checkTrainConfig(config);
  return { config, data: resumed?.data ?? v.data, retention: retention(v, given, resumed?.saved ?? null) };
}

/** Runs the command with its flags (argv after the command name); sets the exit code. */
export function main(args: string[]): Promise<void> {
  return runMain(async () => {
    const { values: v, given } = parseFlags(TRAIN_FLAGS, args);
    if (v.help) return console.log(HELP);
    const { config, data, retention: kept } = trainConfig(v, given);
    const outDir = v.out ?? (v.resume ? runDirOf(v.resume) : 'out');
    ensureOutputDir(outDir);
    const unlock = lockRunDir(outDir);
    try {
      claimRunDir(outDir, v);
      removeTemporaries(outDir);
      mkdirSync(join(outDir, 'images'), { recursive: true });
      await train(v, given, config, data, outDir, kept);
    } finally {
      unlock();
    }
  });
}

/**
 * One directory, one run: a directory that already holds checkpoints is trained into only by
 * resuming that run, or with --overwrite, which moves the old run's files aside first.
 */
function claimRunDir(outDir: string, v: TrainValues): void {
  const resumingHere = v.resume !== undefined && resolve(runDirOf(v.resume)) === resolve(outDir);
  if (resumingHere && v.overwrite) throw new UsageError(`--overwrite: ${outDir} is the run being resumed; --resume continues it, --overwrite would start another`);
  if (resumingHere) return;
  if (!holdsRun(outDir)) {
    removeUncommitted(outDir);
    return;
  }
  if (!v.overwrite) {
    throw new UsageError(`--out: ${outDir} already holds a training run (${join(outDir, CHECKPOINTS)}); continue it with --resume ${outDir}, train into a fresh --out, or pass --overwrite to move the old run aside`);
  }
  const aside = moveRunAside(outDir);
  if (!v.quiet) console.log(`overwrite moved the previous run's files to ${aside} (nothing deleted; remove it when no longer needed)`);
}
/** The run's images (their channels and classes written into `config`), checked against what the run asks of them. */
async function runData(v: TrainValues, given: Set<string>, config: TrainConfig, data: string, say: (line: string) => void) {
  const channels = given.has('channels') || v.resume ? config.channels : undefined;
  const { set, report } = await loadTrainingData(data, { size: config.imageSize, ...(channels ? { channels } : {}), strict: v['strict-data'], log: say, cache: dataCache(v['data-cache']), pixelsOnDisk: config.shardBytes !== null });
  config.channels = set.channels;
  if (config.conditional !== 'none') {
    const classes = set.classNames?.length ?? config.classes;
    if (v.resume && classes !== config.classes) throw new Error(`${set.source}: ${classes} classes; the checkpoint in ${v.resume} was trained on ${config.classes}`);
    const asker = given.has('conditional') || given.has('head') || v.resume ? '--conditional' : `--recipe ${v.recipe} (a conditional model)`;
    if (classes < 2) throw new Error(`${set.source}: ${asker} needs at least 2 classes (class subfolders); found ${classes}`);
    config.classes = classes;
  }
  if (v.evaluator !== undefined && v['eval-every'] === undefined) throw new UsageError('--evaluator: it scores with --eval-every N; add that');
  if (v['eval-every'] !== undefined) checkEvaluator(v.evaluator, set, config, report ? 'an image folder' : data);
  return { set, report };
}

/** --evaluator's file, or what the default is, for messages. */
const evaluatorName = (file: string | undefined) => file ?? 'the MNIST classifier (the default --evaluator)';

/** That --eval-every's evaluator sees this run's images (and, for a conditional run, knows its classes): from its metadata, before any work. */
function checkEvaluator(file: string | undefined, set: ImageSet, config: TrainConfig, data: string): void {
  const info = evaluatorInfoOf(file);
  const { spec } = info;
  const channels = set.channels;
  const sees = `${spec.channels}x${spec.size}x${spec.size}`;
  const run = `${channels}x${config.imageSize}x${config.imageSize}`;
  if (sees !== run) {
    throw new UsageError(`--eval-every: ${evaluatorName(file)} scores ${sees} images; this run trains on ${data} at ${run} (train-classifier --data DIR --image-size ${config.imageSize} --channels ${channels} --out FILE makes an evaluator for it)`);
  }
  if (config.conditional !== 'none') {
    const why = classMismatch(info, set.classNames ?? [], evaluatorName(file));
    if (why) throw new UsageError(`--eval-every: ${why}`);
  }
}

/** The run itself, in a locked output directory. */
async function train(v: TrainValues, given: Set<string>, config: TrainConfig, data: string, outDir: string, { keep, checkpointEvery }: Retention): Promise<void> {
  // --quiet: our own lines go nowhere; errors still reach stderr through runMain.
  const say = v.quiet ? () => {} : (line: string) => console.log(line);
  const { set, report } = await runData(v, given, config, data, say);
  const signals = new StopSignals();
  const gpu = await requestGpu({ backend: v.backend });
  try {
    say(`adapter  ${gpu.describe()}`);
    say(`data     ${set.count} images ${set.channels === 3 ? 'RGB ' : ''}${set.height}x${set.width} from ${set.source}${report ? ` (${report.classes.length} class${report.classes.length > 1 ? 'es' : ''})` : ''}`);
    if (report) for (const line of folderWarnings(report, config.imageSize)) say(line);
    if (config.arch !== 'reference') say(`model    ${config.arch}: nz ${config.latentDim}, ngf ${config.ngf}, ndf ${config.ndf}, ${config.channels} channel${config.channels > 1 ? 's' : ''}`);
    if (config.conditional !== 'none') say(`model    conditional on ${config.classes} classes (${config.conditional} head): ${(set.classNames ?? []).join(', ')}`);
    GanTrainer.tuneLog = say;
    const stepsPerSubmit = v['steps-per-submit'] ?? (gpu.isSoftware ? 1 : 8);
    const trainer = await GanTrainer.create(gpu, set, config);
    trainer.batchLimit = v['limit-batches'] ?? null;
    const shards = trainer.dataset?.streamed;
    if (shards) say(`stream   ${trainer.dataset!.shardsPerEpoch} shards per epoch of ${shards.images} images (${((shards.images * set.channels * set.height * set.width) / 2 ** 20).toFixed(1)} MiB), two on the GPU; the next is uploaded while one trains${set.onDisk ? `; packed from ${set.onDisk.file}, so the host holds two shards, not the set` : ''}`);
    if (v.resume) {
      loadRun(v.resume, trainer);
      say(`resumed  ${v.resume} at epoch ${trainer.epoch}, batch ${trainer.batchIndex}, step ${trainer.globalStep}`);
    }
    const profiler = v.profile ? new Profiler() : null;
    const evalEvery = v['eval-every'] ?? null;
    const classifier = evalEvery ? loadEvaluator(gpu, v.evaluator) : null;
    const route = { conv: config.conv, matmul: config.matmul };
    const perClass = classifier && config.conditional !== 'none' ? await classReferenceFor(gpu, classifier, set.classNames ?? [], evaluatorName(v.evaluator), route) : null;
    const evaluator = classifier ? await GeneratorEvaluator.create(gpu, trainer.G, classifier.model, classifier.reference, v['eval-samples'], perClass, route) : null;
    const metricsFile = join(outDir, 'metrics.jsonl');
    writeFileSync(metricsFile, v.resume ? metricsUpTo(metricsFile, trainer.globalStep) : '');
    const start = performance.now();
    const maxSteps = v['max-steps'] ?? null;
    let progress: Progress | null = null;
    const run = new TrainingRun(
      trainer,
      { maxSteps, logEvery: v['log-every'], stepsPerSubmit, checkpointEvery, gridEvery: null, evalEvery },
      {
        onSteps: (at) => progress!.tick(at.step, at.epoch, config.epochs, at.batch, at.batches, at.stepsPerSecond),
        onLogLine: (line) => progress!.print(line),
        onMetrics: (row) => {
          appendFileSync(metricsFile, `${JSON.stringify(row)}\n`);
          progress!.metrics(row);
        },
        onWarning: (w) => {
          progress!.print(`warning  step ${w.step}: ${w.message}`);
          appendFileSync(metricsFile, `${JSON.stringify({ kind: 'warning', warning: w.kind, step: w.step, message: w.message })}\n`);
        },
        onGrid: (grid, name) => writeFileAtomic(join(outDir, 'images', name), encodePng(grid)),
        save: async () => void (await saveRun(outDir, trainer, { data, keep: String(keep), checkpoint_every: formatCheckpointEvery(checkpointEvery) }, keep, { replaceLater: v.resume !== undefined })),
        evaluate: evaluator ? qualityScorer(evaluator, metricsFile, join(outDir, 'quality_curve.png'), (line) => progress!.print(line), classifier!.spec.task === 'classes') : undefined,
      },
    );
    const every = 'steps' in checkpointEvery ? `${checkpointEvery.steps} steps` : `${checkpointEvery.seconds / 60} min`;
    say(`run      ${config.epochs} epochs x ${trainer.batchesPerEpoch} batches of ${config.batchSize}${maxSteps ? `, stopping at step ${maxSteps}` : ''}; output in ${outDir} (checkpoint every ${every}, keeping ${keep})`);
    progress = new Progress(run.totalSteps, trainer.globalStep, !!v.quiet);
    signals.arm(() => run.stop());
    await run.run();
    progress.done();
    const chart = run.lossChart();
    if (chart) writeFileAtomic(join(outDir, 'loss_curve.png'), encodePng(chart));
    const seconds = (performance.now() - start) / 1000;
    say(`done     step ${trainer.globalStep} (epoch ${trainer.epoch}, batch ${trainer.batchIndex}) in ${seconds.toFixed(1)} s; checkpoint, grids and metrics in ${outDir}`);
    if (profiler) await profiler.report(trainer, outDir);
    if (signals.exitCode !== undefined) process.exitCode = signals.exitCode;
  } finally {
    signals.dispose();
    gpu.destroy();
  }
}
