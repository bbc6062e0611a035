/**
 * A training run's state as checkpoint files, and back: what the CLI writes into a step
 * directory and the page keeps in IndexedDB, the same bytes either way. No file system here
 * (src/checkpoints/run-files.ts puts these on disk).
 */
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  EMA_FILE,
  FILES,
  adamStateDict,
  expectedAdamTensors,
  expectedModelTensors,
  int64Scalar,
  loadAdamState,
  loadStateDict,
  modelStateDict,
  parseChecked,
  serialize,
  trackedKeys,
  type Metadata,
} from '../model/state-dict.js';
import { tensorValues } from '../io/safetensors.js';
import type { GanTrainer } from '../train/trainer.js';
import { settingsFromMetadata, settingsToMetadata, type RunPosition, type TrainConfig } from '../train/settings.js';
import { D_PASSES_PER_STEP, G_PASSES_PER_STEP } from '../train/step.js';

/**
 * A checkpoint's metadata: the run's settings (src/train/settings.ts, in its rows' order), the
 * class names of a conditional run right after its class count, and where the run stands.
 */
export function runMetadata(t: GanTrainer, extra: Metadata = {}): Metadata {
  const settings = settingsToMetadata(t.config).flatMap((entry) => (entry[0] === 'classes' ? [entry, ['class_names', JSON.stringify(t.classNames)] as [string, string]] : [entry]));
  return {
    ...Object.fromEntries(settings),
    epoch: String(t.epoch),
    batch_index: String(t.batchIndex),
    step: String(t.globalStep),
    ...extra,
  };
}

/** Where a checkpoint's run stands (runMetadata's epoch and batch_index), for the rules of --resume. */
export function runPosition(meta: Metadata): RunPosition {
  return { epoch: Number(meta.epoch), batchIndex: Number(meta.batch_index) };
}

/**
 * The checkpoint files of the trainer's current state, as [file name, bytes]: generator,
 * discriminator, optimizer (Adam's moments and the counters) and, with --ema, the weight
 * average. All readbacks happen here, before anything is written anywhere.
 */
export async function runStateFiles(t: GanTrainer, extra: Metadata = {}): Promise<Array<[string, Uint8Array]>> {
  const meta = runMetadata(t, extra);
  const g = await modelStateDict(t.gpu, t.G, G_PASSES_PER_STEP * t.globalStep);
  const d = await modelStateDict(t.gpu, t.D, D_PASSES_PER_STEP * t.globalStep);
  const opt = new Map([...(await adamStateDict(t.gpu, t.G, 'generator')), ...(await adamStateDict(t.gpu, t.D, 'discriminator'))]);
  const optMeta = { ...meta, adam_step_generator: String(t.optG.step), adam_step_discriminator: String(t.optD.step) };
  const ema = t.emaG ? await modelStateDict(t.gpu, t.G, G_PASSES_PER_STEP * t.globalStep, t.emaG.arena) : null;
  return [
    [FILES.G, serialize(g, meta)],
    [FILES.D, serialize(d, meta)],
    [FILES.optimizer, serialize(opt, optMeta)],
    ...(ema ? [[EMA_FILE, serialize(ema, { ...meta, ema_decay: String(t.emaG!.decay) })] as [string, Uint8Array]] : []),
  ];
}

/**
 * The run configuration in a checkpoint's metadata (`file` names it in errors), validated like
 * user input; keys older checkpoints lack take their settings' defaults.
 */
export function runConfigFromMetadata(meta: Metadata, file: string): Partial<TrainConfig> {
  const field = (k: string, want: string) => `${file}: metadata "${k}": expected ${want}, found ${meta[k] === undefined ? 'nothing' : JSON.stringify(meta[k])}`;
  for (const [k, allowed] of [['format', CHECKPOINT_FORMAT], ['format_version', CHECKPOINT_VERSION]] as const) {
    if (meta[k] !== allowed) throw new Error(field(k, `one of ${allowed}`));
  }
  for (const k of ['step', 'epoch', 'batch_index', 'adam_step_generator', 'adam_step_discriminator']) {
    const v = Number(meta[k]);
    if (meta[k] === undefined || meta[k] === '' || !Number.isSafeInteger(v) || v < 0) throw new Error(field(k, 'a non-negative integer'));
  }
  try {
    return settingsFromMetadata(meta, (k) => `${file}: metadata "${k}"`);
  } catch (err) {
    // The same message as a bad flag's, but a bad file is not a usage error (exit 1, not 2).
    throw new Error((err as Error).message);
  }
}

/**
 * Loads checkpoint files (by file name: `file` is what errors call it) into a trainer built with
 * their configuration, after checking every tensor and that the files and both models' BN
 * counters agree on the step. `where` names the checkpoint in errors.
 */
export function loadRunState(files: Map<string, { file: string; bytes: Uint8Array }>, t: GanTrainer, where: string): void {
  const read = (name: string) => {
    const f = files.get(name);
    if (!f) throw new Error(`${where}: ${name} missing`);
    return f;
  };
  const g = read(FILES.G);
  const d = read(FILES.D);
  const o = read(FILES.optimizer);
  const G = parseChecked(g.bytes, g.file, expectedModelTensors(t.G));
  const D = parseChecked(d.bytes, d.file, expectedModelTensors(t.D));
  const O = parseChecked(o.bytes, o.file, new Map([...expectedAdamTensors(t.G, 'generator'), ...expectedAdamTensors(t.D, 'discriminator')]));
  const steps = [G, D, O].map((x) => x.metadata.step);
  if (new Set(steps).size !== 1) {
    throw new Error(`${where}: checkpoint files are from different steps (${FILES.G} ${steps[0]}, ${FILES.D} ${steps[1]}, ${FILES.optimizer} ${steps[2]})`);
  }
  const step = Number(steps[0]);
  for (const [file, model, parsed, perStep] of [[g.file, t.G, G, G_PASSES_PER_STEP], [d.file, t.D, D, D_PASSES_PER_STEP]] as const) {
    for (const key of trackedKeys(model)) {
      const n = int64Scalar(parsed.tensors.get(key)!);
      if (n !== perStep * step) throw new Error(`${file}: ${key} is ${n}, expected ${perStep * step} (${perStep} per step at step ${step})`);
    }
  }
  loadStateDict(t.gpu, t.G, G.tensors);
  loadStateDict(t.gpu, t.D, D.tensors);
  if (t.emaG) {
    const e = read(EMA_FILE);
    const E = parseChecked(e.bytes, e.file, expectedModelTensors(t.G));
    if (E.metadata.step !== steps[0]) throw new Error(`${e.file}: from step ${E.metadata.step}, the other files from step ${steps[0]}`);
    t.emaG.load(new Map([...E.tensors].filter(([, x]) => x.dtype === 'F32').map(([k, x]) => [k, tensorValues(x) as Float32Array])));
  }
  loadAdamState(t.gpu, t.G, 'generator', O.tensors);
  loadAdamState(t.gpu, t.D, 'discriminator', O.tensors);
  t.restoreCounters({
    globalStep: step,
    epoch: Number(O.metadata.epoch),
    batchIndex: Number(O.metadata.batch_index),
    adamStepG: Number(O.metadata.adam_step_generator),
    adamStepD: Number(O.metadata.adam_step_discriminator),
  });
}
