/**
 * The trainer a run starts with: from the form (model, size, width, batch, seed) or from a run
 * stored in this browser. Compiling the plan's kernels and timing GEMM shapes can take minutes
 * on a CPU adapter, so the status line says which kernel or shape a build is at.
 */
import { checkChoice, checkInt, numberFromText } from '../src/config/checks.js';
import { loadRunState, runConfigFromMetadata, runPosition } from '../src/checkpoints/run-state.js';
import type { Gpu } from '../src/gpu/gpu.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { ARCHS, archDefaults, type Arch } from '../src/model/models.js';
import { FILES } from '../src/model/state-dict.js';
import { HEADS } from '../src/shaders/conditional.js';
import { GanTrainer, REFERENCE_CONFIG, type TrainConfig } from '../src/train/trainer.js';
import { paramName, resumeRefusal } from '../src/train/settings.js';
import type { SavedRun } from './checkpoint-store.js';
import type { DataPicker } from './data-picker.js';
import { $, state, status } from './page.js';

type Tune = TrainConfig['tune'];

/** An integer from a form field, checked like the CLI's flags (`min` and up). */
function intField(id: string, min: number): number {
  const text = $<HTMLInputElement>(id).value;
  return checkInt(numberFromText(text), id, min, undefined, text);
}

/** The plan-building progress on the status line, from construction until `end`. */
export class PlanProgress {
  private readonly began = performance.now();
  private readonly compiledBefore: number;
  /** Where this browser keeps how many kernels this plan took when it last built it. */
  private readonly key: string;
  private tuned = 0;

  constructor(
    private readonly gpu: Gpu,
    from: SavedRun | undefined,
    tune: Tune,
  ) {
    this.key = `webgpu-dcgan.plan-kernels|${state.adapter}|${from ? 'stored' : `${$<HTMLSelectElement>('conditional').value}|${$<HTMLSelectElement>('arch').value}|${$<HTMLInputElement>('batch').value}`}|${tune}`;
    // The first build cannot know the count.
    const expected = Number(localStorage.getItem(this.key)) || null;
    gpu.onCompile = (kernel, count) => status(`Building the training plan: compiling kernel ${count - this.compiledBefore}${expected ? ` of ${expected}` : ''} (${kernel}), ${this.elapsed()}…`);
    GanTrainer.tuneLog = (line) => {
      if (/^tune\s+matmul|^tune\s+conv/.test(line)) this.tuned++;
      status(`Timing GEMM variants on this adapter (once, then cached): shape ${this.tuned + 1}, ${this.elapsed()}… ${line.replace(/^tune\s+/, '')}`);
    };
    this.compiledBefore = gpu.compiledKernels;
  }

  private elapsed(): string {
    return `${((performance.now() - this.began) / 1000).toFixed(0)} s`;
  }

  end(): void {
    this.gpu.onCompile = null;
    GanTrainer.tuneLog = () => {};
  }

  /** Says the plan is built, and remembers its kernel count for the next build's progress. */
  built(): void {
    const compiled = this.gpu.compiledKernels - this.compiledBefore;
    status(`Adapter: ${state.adapter}. Training plan built (${compiled} kernels, ${this.elapsed()}).`);
    if (compiled > 0) localStorage.setItem(this.key, String(compiled));
  }
}

/**
 * A trainer holding a stored run's state (its plan not built yet), with the URL's `training`
 * settings (PAGE_SETTINGS) over the saved ones as `--resume` takes flags: those --resume allows
 * (e.g. epochs, tune, the kernels' route) apply, one that contradicts the run is an error naming
 * both values. The form's batch and seed are the stored run's.
 */
export async function trainerFromStored(gpu: Gpu, data: DataPicker, from: SavedRun, training: Partial<TrainConfig>): Promise<GanTrainer> {
  const files = new Map(from.files.map(([name, bytes]) => [name, { file: `stored ${name}`, bytes }]));
  const opt = files.get(FILES.optimizer);
  if (!opt) throw new Error(`the stored run lacks ${FILES.optimizer}`);
  const meta = parseSafetensors(opt.bytes, opt.file).metadata;
  const saved = { ...REFERENCE_CONFIG, ...runConfigFromMetadata(meta, opt.file) };
  const refused = resumeRefusal(saved, training, runPosition(meta));
  if (refused) throw new Error(`URL parameter ${paramName(refused.key)}=${refused.text} contradicts the stored run${refused.why}`);
  const config = { ...saved, ...training };
  const trainer = await GanTrainer.create(gpu, await data.dataFor(config.imageSize, config.channels), config);
  loadRunState(files, trainer, 'the stored checkpoint');
  return trainer;
}

/** A new trainer as the form describes it, with the URL's `training` settings (its plan not built yet). */
export async function trainerFromForm(gpu: Gpu, data: DataPicker, tune: Tune, training: Partial<TrainConfig> = {}): Promise<GanTrainer> {
  const conditional = checkChoice($<HTMLSelectElement>('conditional').value, 'model', ['none', ...HEADS]);
  const [arch, size] = $<HTMLSelectElement>('arch').value.split('-') as [Arch, string];
  checkChoice(arch, 'size', ARCHS);
  const width = intField('width', 1);
  const images = await data.dataFor(Number(size));
  const classes = images.classNames?.length ?? 10;
  if (conditional !== 'none' && classes < 2) throw new Error(`a conditional model needs at least 2 classes (subfolders); ${images.source} has ${classes}`);
  return GanTrainer.create(gpu, images, {
    ...REFERENCE_CONFIG,
    batchSize: intField('batch', 1),
    seed: intField('seed', 0),
    tune,
    conditional,
    classes,
    arch,
    imageSize: Number(size),
    channels: images.channels,
    ngf: width,
    ndf: width,
    init: archDefaults(arch).init,
    ...training,
  });
}
