/**
 * Image folders on disk (Node): every file below the folder (links followed, each directory
 * once), decoded with pngjs and jpeg-js after a header check on worker threads (decode-pool.ts),
 * then assembled as the page does it (image-folder.ts).
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { ImageSet } from './idx.js';
import { FolderError, assembleImageSet, emptyReport, imageKind, type FolderOptions, type FolderReport } from './image-folder.js';
import { readImageFile } from './decode.js';
import { DecodePool } from './decode-pool.js';
import type { DecodedCache } from './decoded-cache.js';

export { FolderError, MAX_IMAGE_PIXELS, fitImageSet, imageHeader, type FolderOptions, type FolderReport } from './image-folder.js';

/** Whether `dir` looks like an image folder (an image file in it or in a subfolder, within a few levels). */
export function isImageFolder(dir: string): boolean {
  const walk = (d: string, depth: number): boolean => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return false;
    }
    if (names.some((n) => imageKind(n))) return true;
    if (depth === 0) return false;
    return names.some((n) => {
      try {
        return statSync(join(d, n)).isDirectory() && walk(join(d, n), depth - 1);
      } catch {
        return false;
      }
    });
  };
  return walk(dir, 3);
}

/**
 * Every file below `dir` (links followed, each directory once), sorted as os.walk + sorted() list
 * them, each with its stamp: path, size, inode, modification and change times (the cache's key).
 */
function listFiles(dir: string, report: FolderReport, seen: Set<string>): Array<{ path: string; stamp: string }> {
  const real = realpathSync(dir);
  if (seen.has(real)) {
    report.loops.push(dir);
    return [];
  }
  seen.add(real);
  const files: Array<{ path: string; stamp: string }> = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p, { bigint: true });
    } catch (err) {
      report.bad.push({ file: p, reason: `unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
      continue;
    }
    if (st.isDirectory()) files.push(...listFiles(p, report, seen));
    else if (st.isFile()) files.push({ path: p, stamp: `${p}\0${st.size}\0${st.ino}\0${st.mtimeNs}\0${st.ctimeNs}` });
  }
  return files;
}

/**
 * Node's load options: decoding threads (default one per core), the decoded-set cache (null:
 * none) and whether a cached set's pixels may stay on disk (ImageSet.onDisk; a streamed run).
 */
export type NodeFolderOptions = FolderOptions & { threads?: number; cache?: DecodedCache | null; pixelsOnDisk?: boolean };

/**
 * Loads the folder at `root` as an ImageSet of size x size images with `channels` channels
 * (default: 3 if any image has colour, else 1), labels from the class folders. A bad image is
 * named in the report and skipped (or, `strict`, refuses the folder). With a cache, a folder
 * loaded before with the same files and options is read back instead of decoded.
 */
export async function loadImageFolder(root: string, o: NodeFolderOptions): Promise<{ set: ImageSet; report: FolderReport }> {
  const report = emptyReport(root);
  const listed = listFiles(root, report, new Set());
  const all = listed.map((f) => f.path);
  const key = o.cache?.key(realpathSync(root), listed.map((f) => f.stamp), o);
  if (o.cache && key) {
    const hit = o.cache.read(key, o.pixelsOnDisk);
    if (hit) {
      o.log?.(`cache    ${hit.set.count} images of ${root} decoded by an earlier run, ${hit.set.onDisk ? 'left on disk (read shard by shard)' : 'read'} from ${join(o.cache.dir, key)}`);
      return hit;
    }
  }
  const images = all.filter((f) => imageKind(f));
  report.ignored = all.length - images.length;
  const named = basename(realpathSync(root));
  const pool = new DecodePool(o.threads);
  try {
    const files = images.map((file) => {
      const kind = imageKind(file)!;
      const image = { name: file, parts: relative(root, file).split(/[\\/]/), read: () => readImageFile(file, kind) };
      return pool.parallel ? { ...image, prepare: (channels: number, size: number) => pool.prepare(file, kind, channels, size) } : image;
    });
    const loaded = await assembleImageSet(report, files, o, named);
    // Images a dead worker could not decode are not bad images: refuse the load rather than skip or cache them.
    if (pool.broken) throw new FolderError(`${root}: ${pool.broken.message}`);
    if (o.cache && key) o.cache.write(key, o, loaded, o.log);
    return loaded;
  } finally {
    await pool.close();
  }
}
