/**
 * Saving and loading a training run on disk (Node). Every file is written to a temporary name
 * and renamed over the old one, so a crash mid-write leaves the previous checkpoint intact; the
 * three files carry the same step in their metadata and loading refuses a mixed set.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
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
import { parseSafetensors } from '../io/safetensors.js';
import type { GanTrainer, TrainConfig } from './trainer.js';

export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Creates `dir` if needed; an existing file of that name is an error. */
export function ensureOutputDir(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`--out: "${dir}" exists and is not a directory`);
  mkdirSync(dir, { recursive: true });
}

export function runMetadata(t: GanTrainer, extra: Metadata = {}): Metadata {
  const c = t.config;
  return {
    latent_dim: String(c.latentDim),
    batch_size: String(c.batchSize),
    epochs: String(c.epochs),
    lr: String(c.lr),
    beta1: String(c.beta1),
    beta2: String(c.beta2),
    seed: String(c.seed),
    init: c.init,
    loss: c.loss,
    epoch: String(t.epoch),
    batch_index: String(t.batchIndex),
    step: String(t.globalStep),
    ...extra,
  };
}

/** Writes generator, discriminator and optimizer files for the trainer's current state. */
export async function saveRun(dir: string, t: GanTrainer, extra: Metadata = {}): Promise<void> {
  ensureOutputDir(dir);
  const meta = runMetadata(t, extra);
  const g = await modelStateDict(t.gpu, t.G, t.globalStep);
  // D runs three training-mode forward passes per step (real, fake, fake for G).
  const d = await modelStateDict(t.gpu, t.D, 3 * t.globalStep);
  const opt = new Map([...(await adamStateDict(t.gpu, t.G, 'generator')), ...(await adamStateDict(t.gpu, t.D, 'discriminator'))]);
  const optMeta = { ...meta, adam_step_generator: String(t.optG.step), adam_step_discriminator: String(t.optD.step) };
  writeFileAtomic(join(dir, FILES.G), serialize(g, meta));
  writeFileAtomic(join(dir, FILES.D), serialize(d, meta));
  writeFileAtomic(join(dir, FILES.optimizer), serialize(opt, optMeta));
}

/** The run configuration a checkpoint directory was written with (read from its metadata). */
export function readRunConfig(dir: string): { config: Partial<TrainConfig>; meta: Metadata } {
  const file = join(dir, FILES.optimizer);
  if (!existsSync(file)) throw new Error(`--resume: ${file} not found (a checkpoint directory holds ${Object.values(FILES).join(', ')})`);
  const meta = parseSafetensors(new Uint8Array(readFileSync(file)), file).metadata;
  const num = (k: string) => {
    const v = Number(meta[k]);
    if (meta[k] === undefined || !Number.isFinite(v)) throw new Error(`${file}: metadata "${k}" missing or not a number (found ${meta[k]})`);
    return v;
  };
  return {
    meta,
    config: {
      latentDim: num('latent_dim'),
      batchSize: num('batch_size'),
      epochs: num('epochs'),
      lr: num('lr'),
      beta1: num('beta1'),
      beta2: num('beta2'),
      seed: num('seed'),
      init: meta.init as TrainConfig['init'],
      loss: meta.loss as TrainConfig['loss'],
    },
  };
}

/** Loads all three files into a trainer built with the checkpoint's configuration. */
export function loadRun(dir: string, t: GanTrainer): void {
  const read = (name: string) => {
    const file = join(dir, name);
    if (!existsSync(file)) throw new Error(`--resume: ${file} not found`);
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
  for (const key of trackedKeys(t.G)) {
    const n = int64Scalar(G.tensors.get(key)!);
    if (n !== step) throw new Error(`${g.file}: ${key} is ${n}, expected ${step} (one per step)`);
  }
  loadStateDict(t.gpu, t.G, G.tensors);
  loadStateDict(t.gpu, t.D, D.tensors);
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
