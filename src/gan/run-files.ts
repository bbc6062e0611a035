/**
 * Saving and loading a training run on disk (Node). A run directory holds its checkpoints as
 * one directory per step, each made visible whole:
 *
 *   DIR/checkpoints/step-00000400/{generator,discriminator,optimizer}.safetensors
 *   DIR/checkpoints/latest -> step-00000400      (a symlink, replaced atomically)
 *
 * A save writes the three files into a temporary directory (each file and the directory
 * fsynced), renames it to its step name, fsyncs the parent, then swaps `latest` by renaming a
 * new symlink over it and fsyncs again. A crash at any moment leaves `latest` naming a complete
 * checkpoint (or no `latest` before the first save); temporaries of a crashed save are removed
 * by the next run. The newest `keep` step directories are kept.
 */
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
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
} from './checkpoint.js';
import { INIT_SCHEMES } from './models.js';
import { parseSafetensors, tensorValues } from '../io/safetensors.js';
import { LOSSES } from '../shaders/loss.js';
import type { GanTrainer, TrainConfig } from './trainer.js';

export const CHECKPOINTS = 'checkpoints';
const LATEST = 'latest';
const STEP_DIR = /^step-\d{8,}$/;
/** Names of a save in progress (or of one a crash interrupted): never read as checkpoints. */
const TEMPORARY = /^\.(tmp|old|latest)-/;

export const stepDirName = (step: number) => `step-${String(step).padStart(8, '0')}`;

function writeAndSync(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes a file under a temporary name and renames it into place: readers see all of it or the old one. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeAndSync(tmp, bytes);
  renameSync(tmp, path);
}

/** Makes a directory's entries (renames, new names) durable. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Creates `dir` if needed; an existing file of that name is an error. */
export function ensureOutputDir(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`--out: "${dir}" exists and is not a directory`);
  mkdirSync(dir, { recursive: true });
}

/** The step directory `latest` names in a run directory, or null before the first save. */
export function latestCheckpoint(runDir: string): string | null {
  const link = join(runDir, CHECKPOINTS, LATEST);
  if (!lstatSync(link, { throwIfNoEntry: false })) return null;
  const target = readlinkSync(link);
  if (!STEP_DIR.test(target)) throw new Error(`${link}: expected a link to a step-NNNNNNNN directory, found "${target}"`);
  return join(runDir, CHECKPOINTS, target);
}

/**
 * The directory holding the checkpoint files a path means: a run directory (its latest
 * checkpoint), a step directory, or a directory holding the files directly (older runs).
 */
export function checkpointDir(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} not found`);
  if (!statSync(path).isDirectory()) throw new Error(`${path} is not a directory`);
  const latest = latestCheckpoint(path);
  if (latest) return latest;
  if (existsSync(join(path, FILES.G))) return path;
  throw new Error(`${path}: no checkpoint (expected ${join(CHECKPOINTS, LATEST)} or ${FILES.G}; a run saves its first checkpoint after --checkpoint-every steps or at the end of its first epoch)`);
}

/** The run directory a --resume path belongs to (a step directory lives two levels down). */
export function runDirOf(path: string): string {
  const dir = checkpointDir(path);
  return STEP_DIR.test(basename(dir)) && basename(dirname(dir)) === CHECKPOINTS ? dirname(dirname(dir)) : dir;
}

/**
 * Claims a run directory for this process (DIR/.lock holds its pid) so that two trainers never
 * write one directory; a lock left by a process that no longer exists (kill -9) is taken over.
 * Returns the release function.
 */
export function lockRunDir(runDir: string): () => void {
  const file = join(runDir, '.lock');
  try {
    writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new Error(`${runDir} is in use by training process ${pid} (${file}): two runs must not write one directory; wait for it, stop it, or use another --out`);
    }
    writeFileSync(file, `${process.pid}\n`);
  }
  return () => rmSync(file, { force: true });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes what saves interrupted by a crash left behind. Call once, after lockRunDir, before a run saves. */
export function removeTemporaries(runDir: string): string[] {
  const dir = join(runDir, CHECKPOINTS);
  if (!existsSync(dir)) return [];
  const removed = readdirSync(dir).filter((name) => TEMPORARY.test(name));
  for (const name of removed) rmSync(join(dir, name), { recursive: true, force: true });
  return removed;
}

export function runMetadata(t: GanTrainer, extra: Metadata = {}): Metadata {
  const c = t.config;
  return {
    latent_dim: String(c.latentDim),
    batch_size: String(c.batchSize),
    epochs: String(c.epochs),
    lr: String(c.lr),
    lr_d: c.lrD === null ? 'same' : String(c.lrD),
    beta1: String(c.beta1),
    beta2: String(c.beta2),
    seed: String(c.seed),
    init: c.init,
    loss: c.loss,
    real_label: String(c.realLabel),
    ema: String(c.ema),
    lr_decay_from: c.lrDecayFrom === null ? 'none' : String(c.lrDecayFrom),
    epoch: String(t.epoch),
    batch_index: String(t.batchIndex),
    step: String(t.globalStep),
    ...extra,
  };
}

/**
 * Saves the trainer's current state as DIR/checkpoints/step-N and points `latest` at it, then
 * removes all but the newest `keep` step directories at or below this step (ones above it
 * belong to a longer run this one was resumed from and are left alone). Returns the step
 * directory.
 */
export async function saveRun(runDir: string, t: GanTrainer, extra: Metadata = {}, keep = Infinity): Promise<string> {
  const dir = join(runDir, CHECKPOINTS);
  mkdirSync(dir, { recursive: true });
  const name = stepDirName(t.globalStep);
  const final = join(dir, name);
  if (latestCheckpoint(runDir) === final) return final; // this very state is already saved
  const meta = runMetadata(t, extra);
  const g = await modelStateDict(t.gpu, t.G, t.globalStep);
  // D runs three training-mode forward passes per step (real, fake, fake for G).
  const d = await modelStateDict(t.gpu, t.D, 3 * t.globalStep);
  const opt = new Map([...(await adamStateDict(t.gpu, t.G, 'generator')), ...(await adamStateDict(t.gpu, t.D, 'discriminator'))]);
  const optMeta = { ...meta, adam_step_generator: String(t.optG.step), adam_step_discriminator: String(t.optD.step) };
  // Every readback before the first write: a device lost mid-save leaves nothing half written.
  const ema = t.emaG ? await modelStateDict(t.gpu, t.G, t.globalStep, t.emaG.arena) : null;

  const tmp = join(dir, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  writeAndSync(join(tmp, FILES.G), serialize(g, meta));
  writeAndSync(join(tmp, FILES.D), serialize(d, meta));
  writeAndSync(join(tmp, FILES.optimizer), serialize(opt, optMeta));
  if (ema) writeAndSync(join(tmp, EMA_FILE), serialize(ema, { ...meta, ema_decay: String(t.emaG!.decay) }));
  syncDir(tmp);
  // A step directory left by a longer run that was resumed from earlier: not `latest`, so it can move aside.
  const old = join(dir, `.old-${name}-${process.pid}`);
  if (existsSync(final)) renameSync(final, old);
  renameSync(tmp, final);
  syncDir(dir);
  const link = join(dir, `.latest-${process.pid}`);
  rmSync(link, { force: true });
  symlinkSync(name, link);
  renameSync(link, join(dir, LATEST));
  syncDir(dir);
  rmSync(old, { recursive: true, force: true });

  const steps = readdirSync(dir).filter((n) => STEP_DIR.test(n) && n <= name).sort();
  for (const n of steps.slice(0, Math.max(0, steps.length - keep))) rmSync(join(dir, n), { recursive: true, force: true });
  return final;
}

/** The run configuration a checkpoint was written with, validated like user input. */
export function readRunConfig(path: string): { config: Partial<TrainConfig>; meta: Metadata } {
  const file = join(checkpointDir(path), FILES.optimizer);
  if (!existsSync(file)) throw new Error(`${file} not found (a checkpoint directory holds ${Object.values(FILES).join(', ')})`);
  const meta = parseSafetensors(new Uint8Array(readFileSync(file)), file).metadata;
  const field = (k: string, want: string) => `${file}: metadata "${k}": expected ${want}, found ${meta[k] === undefined ? 'nothing' : JSON.stringify(meta[k])}`;
  const text = (k: string, allowed: readonly string[]) => {
    if (!allowed.includes(meta[k]!)) throw new Error(field(k, `one of ${allowed.join(', ')}`));
    return meta[k]!;
  };
  const num = (k: string, integer = false) => {
    const v = Number(meta[k]);
    if (meta[k] === undefined || meta[k] === '' || !Number.isFinite(v) || v < 0 || (integer && !Number.isSafeInteger(v))) {
      throw new Error(field(k, integer ? 'a non-negative integer' : 'a non-negative number'));
    }
    return v;
  };
  text('format', [CHECKPOINT_FORMAT]);
  text('format_version', [CHECKPOINT_VERSION]);
  for (const k of ['step', 'epoch', 'batch_index', 'adam_step_generator', 'adam_step_discriminator']) num(k, true);
  return {
    meta,
    config: {
      latentDim: num('latent_dim', true),
      batchSize: num('batch_size', true),
      epochs: num('epochs', true),
      lr: num('lr'),
      lrD: meta.lr_d === undefined || meta.lr_d === 'same' ? null : num('lr_d'),
      beta1: num('beta1'),
      beta2: num('beta2'),
      seed: num('seed', true),
      init: text('init', INIT_SCHEMES) as TrainConfig['init'],
      loss: text('loss', LOSSES) as TrainConfig['loss'],
      // Checkpoints from before label smoothing existed trained with the reference's 1.
      realLabel: meta.real_label === undefined ? 1 : num('real_label'),
      ema: meta.ema === undefined ? 0 : num('ema'),
      lrDecayFrom: meta.lr_decay_from === undefined || meta.lr_decay_from === 'none' ? null : num('lr_decay_from'),
    },
  };
}

/**
 * Loads a checkpoint's three files into a trainer built with its configuration (readRunConfig),
 * after checking every tensor and that the files and both models' BN counters agree on the step.
 */
export function loadRun(path: string, t: GanTrainer): void {
  const dir = checkpointDir(path);
  const read = (name: string) => {
    const file = join(dir, name);
    if (!existsSync(file)) throw new Error(`${file} not found`);
    return { file, bytes: new Uint8Array(readFileSync(file)) };
  };
  const g = read(FILES.G);
  const d = read(FILES.D);
  const o = read(FILES.optimizer);
  const G = parseChecked(g.bytes, g.file, expectedModelTensors(t.G));
  const D = parseChecked(d.bytes, d.file, expectedModelTensors(t.D));
  const O = parseChecked(o.bytes, o.file, new Map([...expectedAdamTensors(t.G, 'generator'), ...expectedAdamTensors(t.D, 'discriminator')]));
  const steps = [G, D, O].map((x) => x.metadata.step);
  if (new Set(steps).size !== 1) {
    throw new Error(`${dir}: checkpoint files are from different steps (${FILES.G} ${steps[0]}, ${FILES.D} ${steps[1]}, ${FILES.optimizer} ${steps[2]})`);
  }
  const step = Number(steps[0]);
  // G runs one training-mode forward pass per step, D three (real, fake, fake for G's loss).
  for (const [file, model, parsed, perStep] of [[g.file, t.G, G, 1], [d.file, t.D, D, 3]] as const) {
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
