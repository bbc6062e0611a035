/**
 * Decoded image folders kept on disk, so a second run on the same folder starts at once. An
 * entry's key is a SHA-256 of everything the decoded set depends on: this format's version, the
 * load options (size, channels, strict) and every file the folder listing found, each with its
 * path, size, inode and modification and change times in nanoseconds. A changed, added, removed
 * or renamed file changes the key (a write changes ctime, which no tool sets back), so a stale
 * entry is never looked up. An entry stores the pixels, labels and the load's report with their
 * SHA-256s, checked on every read: a corrupt entry is an error naming it, never data for a run.
 * Entries are written whole (a temporary directory renamed into place); a folder's older entries
 * for the same options are removed when a new one is written.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ImageSet } from './idx.js';
import type { FolderOptions, FolderReport } from './image-folder.js';
import { openPixelFile } from './pixel-file.js';

/** Bumped whenever resizing or the entry layout changes what an entry holds; the decoders' versions go with it. */
const require = createRequire(import.meta.url);
const FORMAT = ['webgpu-dcgan-decoded-1', ...['pngjs', 'jpeg-js'].map((p) => `${p} ${(require(`${p}/package.json`) as { version: string }).version}`)].join(', ');

export const DATA_CACHE_ENV = 'WEBGPU_DCGAN_DATA_CACHE';

/** $WEBGPU_DCGAN_DATA_CACHE, else $XDG_CACHE_HOME or ~/.cache, under webgpu-dcgan/decoded. */
export function defaultDataCacheDir(): string {
  return process.env[DATA_CACHE_ENV] ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'webgpu-dcgan', 'decoded');
}

export class DataCacheError extends Error {
  override name = 'DataCacheError';
}

interface Entry {
  format: string;
  root: string;
  options: string;
  set: Omit<ImageSet, 'pixels' | 'labels'>;
  report: Omit<FolderReport, 'sizes' | 'modes'> & { sizes: Array<[string, number]>; modes: Array<[string, number]> };
  sha256: { pixels: string; labels: string };
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** The load options that change the decoded set. */
const optionsKey = (o: FolderOptions) => JSON.stringify({ size: o.size, channels: o.channels ?? 'auto', strict: Boolean(o.strict) });

export class DecodedCache {
  constructor(readonly dir: string) {}

  /** Fails now, naming the directory, when entries could not be written there (before any decoding). */
  checkWritable(): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      const probe = join(this.dir, `.probe-${process.pid}`);
      writeFileSync(probe, '');
      rmSync(probe);
    } catch (err) {
      throw new DataCacheError(`--data-cache ${this.dir}: cannot write there (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass another directory, or --data-cache off to decode every run`);
    }
  }

  /** The key of a folder listing (every file found, in order, as its stamp: path, size, inode, mtime and ctime in ns) loaded with `o`. */
  key(root: string, stamps: readonly string[], o: FolderOptions): string {
    return sha256([FORMAT, root, optionsKey(o), ...stamps].join('\n'));
  }

  /**
   * The set and report stored under `key`, checked whole; null when there is none. `onDisk`: the
   * pixels stay in the entry's file (checked in chunks, then read image by image: ImageSet.onDisk).
   */
  read(key: string, onDisk = false): { set: ImageSet; report: FolderReport } | null {
    const at = join(this.dir, key);
    if (!existsSync(at)) return null;
    const corrupt = (why: string) => new DataCacheError(`decoded-image cache entry ${at} is corrupt (${why}); delete it (rm -r ${at}), or run with --data-cache off`);
    let entry: Entry;
    try {
      entry = JSON.parse(readFileSync(join(at, 'entry.json'), 'utf8')) as Entry;
    } catch (err) {
      throw corrupt(`entry.json: ${(err as Error).message}`);
    }
    if (entry.format !== FORMAT) throw corrupt(`format ${JSON.stringify(entry.format)}, expected ${FORMAT}`);
    const load = (name: 'pixels' | 'labels') => {
      const file = join(at, `${name}.u8`);
      const read = existsSync(file) ? readFileSync(file) : null;
      const bytes = read && new Uint8Array(read.buffer, read.byteOffset, read.byteLength); // no copy: 245 MB take 0.8 s to copy here
      if (!bytes || sha256(bytes) !== entry.sha256[name]) throw corrupt(`${name}.u8 ${bytes ? 'does not match its SHA-256' : 'missing'}`);
      return bytes;
    };
    const perImage = entry.set.channels * entry.set.height * entry.set.width;
    const pixels = onDisk
      ? { pixels: new Uint8Array(0), onDisk: openPixelFile(join(at, 'pixels.u8'), entry.set.count, perImage, entry.sha256.pixels, corrupt) }
      : { pixels: load('pixels') };
    const set: ImageSet = { ...entry.set, ...pixels, labels: load('labels') };
    if ((!onDisk && set.pixels.length !== set.count * perImage) || set.labels.length !== set.count) throw corrupt('sizes do not match its count');
    const report: FolderReport = { ...entry.report, sizes: new Map(entry.report.sizes), modes: new Map(entry.report.modes) };
    return { set, report };
  }

  /**
   * Stores a loaded folder under `key`, whole or not at all, and drops this folder's older entries
   * for the same options. A failure to store (another run writing the same entry, a full disk)
   * is a warning: the load itself is done.
   */
  write(key: string, o: FolderOptions, loaded: { set: ImageSet; report: FolderReport }, warn: (line: string) => void = () => {}): void {
    try {
      this.store(key, o, loaded);
    } catch (err) {
      warn(`warning  the decoded images were not kept in ${this.dir} (${(err as Error).message}); the next run decodes them again`);
    }
  }

  private store(key: string, o: FolderOptions, loaded: { set: ImageSet; report: FolderReport }): void {
    const { pixels, labels, ...set } = loaded.set;
    const { sizes, modes, ...rest } = loaded.report;
    const entry: Entry = { format: FORMAT, root: realpathSync(loaded.report.root), options: optionsKey(o), set, report: { ...rest, sizes: [...sizes], modes: [...modes] }, sha256: { pixels: sha256(pixels), labels: sha256(labels) } };
    for (const old of this.entriesOf(entry.root, entry.options)) rmSync(join(this.dir, old), { recursive: true, force: true });
    const tmp = join(this.dir, `.tmp-${key}-${process.pid}`);
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'pixels.u8'), pixels);
    writeFileSync(join(tmp, 'labels.u8'), labels);
    writeFileSync(join(tmp, 'entry.json'), JSON.stringify(entry));
    rmSync(join(this.dir, key), { recursive: true, force: true });
    renameSync(tmp, join(this.dir, key));
  }

  private entriesOf(root: string, options: string): string[] {
    return readdirSync(this.dir).filter((name) => {
      if (name.startsWith('.')) return false;
      try {
        const e = JSON.parse(readFileSync(join(this.dir, name, 'entry.json'), 'utf8')) as Entry;
        return e.root === root && e.options === options;
      } catch {
        return false;
      }
    });
  }
}
