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
import { EMA_FILE, FILES, type Metadata } from '../model/state-dict.js';
import { parseSafetensors } from '../io/safetensors.js';
import type { GanTrainer, TrainConfig } from '../train/trainer.js';
import { loadRunState, runConfigFromMetadata, runStateFiles } from './run-state.js';

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

/** Whether a directory holds a training run: a saved checkpoint that `latest` names. */
export function holdsRun(runDir: string): boolean {
  return lstatSync(join(runDir, CHECKPOINTS, LATEST), { throwIfNoEntry: false }) !== undefined;
}

/**
 * Step directories in a run directory without `latest`: a run killed inside its first save,
 * after the step directory's rename and before `latest` named it, so never part of a run. A
 * fresh run removes them (call after lockRunDir); returns their names.
 */
export function removeUncommitted(runDir: string): string[] {
  const dir = join(runDir, CHECKPOINTS);
  if (holdsRun(runDir) || !existsSync(dir)) return [];
  const removed = readdirSync(dir).filter((n) => STEP_DIR.test(n));
  for (const name of removed) rmSync(join(dir, name), { recursive: true, force: true });
  return removed;
}

/** What a run writes into its directory (besides the lock): moved together by moveRunAside. */
const RUN_FILES = [CHECKPOINTS, 'images', 'metrics.jsonl', 'loss_curve.png', 'quality_curve.png', 'profile.json'];

/**
 * Moves a run's files into DIR/replaced-<UTC time>/ (renames within one file system: nothing is
 * copied or deleted) so that a new run can start in DIR. Returns the new directory.
 */
export function moveRunAside(runDir: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  let aside = join(runDir, `replaced-${stamp}`);
  for (let i = 2; existsSync(aside); i++) aside = join(runDir, `replaced-${stamp}-${i}`);
  mkdirSync(aside);
  for (const name of RUN_FILES) if (existsSync(join(runDir, name))) renameSync(join(runDir, name), join(aside, name));
  syncDir(aside);
  syncDir(runDir);
  return aside;
}

/** The step directory `latest` names in a run directory, or null before the first save. */
export function latestCheckpoint(runDir: string): string | null {
  const link = join(runDir, CHECKPOINTS, LATEST);
  if (!lstatSync(link, { throwIfNoEntry: false })) return null;
  const target = readlinkSync(link);
  if (!STEP_DIR.test(target)) throw new Error(`${link}: expected a link to a step-NNNNNNNN directory, found "${target}"`);
  const dir = join(runDir, CHECKPOINTS, target);
  if (!existsSync(dir)) {
    throw new Error(`${link} names ${target}, which does not exist: the run directory is damaged (resume from a step directory that exists: --resume ${join(runDir, CHECKPOINTS)}/step-N)`);
  }
  return dir;
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

export interface SaveOptions {
  /**
   * The run was resumed from a checkpoint of this directory: step directories after it belong to
   * the longer run it branched from and are replaced (moved aside, then removed) when this run
   * reaches their step. Without it an existing step directory with other contents is an error.
   */
  replaceLater?: boolean;
}

/**
 * Saves the trainer's current state as DIR/checkpoints/step-N and points `latest` at it, then
 * removes all but the newest `keep` step directories at or below this step (ones above it
 * belong to a longer run this one was resumed from and are left alone). Returns the step
 * directory. A step directory that exists already is kept only when it holds exactly these
 * bytes (the same state saved twice); otherwise it is replaced (`replaceLater`) or the save fails.
 */
export async function saveRun(runDir: string, t: GanTrainer, extra: Metadata = {}, keep = Infinity, options: SaveOptions = {}): Promise<string> {
  const dir = join(runDir, CHECKPOINTS);
  mkdirSync(dir, { recursive: true });
  const name = stepDirName(t.globalStep);
  const final = join(dir, name);
  // Every readback before the first write: a device lost mid-save leaves nothing half written.
  const files = await runStateFiles(t, extra);
  if (existsSync(final)) {
    const same = files.every(([f, bytes]) => existsSync(join(final, f)) && Buffer.from(bytes).equals(readFileSync(join(final, f))));
    if (same) {
      if (latestCheckpoint(runDir) !== final) pointLatest(dir, name);
      return final; // this very state is already saved
    }
    if (!options.replaceLater) {
      throw new Error(`${final} already exists and holds a different checkpoint: refusing to save over it (is another run's directory being reused? train into a fresh --out, or --resume that run)`);
    }
  }

  const tmp = join(dir, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp);
    for (const [f, bytes] of files) writeAndSync(join(tmp, f), bytes);
    syncDir(tmp);
  } catch (err) {
    // A full disk or a failing device: the partial copy goes, `latest` is untouched.
    rmSync(tmp, { recursive: true, force: true });
    const e = err as NodeJS.ErrnoException;
    const previous = latestCheckpoint(runDir);
    throw new Error(`${final}: saving the checkpoint failed (${e.code ?? e.message}${e.code === 'ENOSPC' ? ': no space left on the device' : ''}); ${previous ? `${join(dir, LATEST)} still names ${basename(previous)}` : 'no checkpoint of this run was saved'}`);
  }
  // A step directory left by the longer run this one branched from: not `latest`, so it can move aside.
  const old = join(dir, `.old-${name}-${process.pid}`);
  if (existsSync(final)) renameSync(final, old);
  renameSync(tmp, final);
  syncDir(dir);
  pointLatest(dir, name);
  rmSync(old, { recursive: true, force: true });

  const steps = readdirSync(dir).filter((n) => STEP_DIR.test(n) && n <= name).sort();
  for (const n of steps.slice(0, Math.max(0, steps.length - keep))) rmSync(join(dir, n), { recursive: true, force: true });
  return final;
}

/** Renames a new symlink over `latest`: readers see the old target or the new one, never neither. */
function pointLatest(dir: string, name: string): void {
  const link = join(dir, `.latest-${process.pid}`);
  rmSync(link, { force: true });
  symlinkSync(name, link);
  renameSync(link, join(dir, LATEST));
  syncDir(dir);
}

/** The run configuration a checkpoint was written with, validated like user input. */
export function readRunConfig(path: string): { config: Partial<TrainConfig>; meta: Metadata; file: string } {
  const file = join(checkpointDir(path), FILES.optimizer);
  if (!existsSync(file)) throw new Error(`${file} not found (a checkpoint directory holds ${Object.values(FILES).join(', ')})`);
  const meta = parseSafetensors(new Uint8Array(readFileSync(file)), file).metadata;
  return { meta, file, config: runConfigFromMetadata(meta, file) };
}

/**
 * Loads a checkpoint's files into a trainer built with its configuration (readRunConfig), after
 * checking every tensor and that the files and both models' BN counters agree on the step.
 */
export function loadRun(path: string, t: GanTrainer): void {
  const dir = checkpointDir(path);
  const names = [FILES.G, FILES.D, FILES.optimizer, ...(t.emaG ? [EMA_FILE] : [])];
  const files = new Map(
    names.map((name) => {
      const file = join(dir, name);
      if (!existsSync(file)) throw new Error(`${file} not found`);
      return [name, { file, bytes: new Uint8Array(readFileSync(file)) }];
    }),
  );
  loadRunState(files, t, dir);
}
