/**
 * Image folders on disk (Node): every file below the folder (links followed, each directory
 * once), decoded with pngjs and jpeg-js after a header check, then assembled as the page does
 * it (image-folder.ts).
 */
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { ImageSet } from './idx.js';
import { MAX_IMAGE_PIXELS, assembleImageSet, emptyReport, imageKind, readImage, type FolderOptions, type FolderReport } from './image-folder.js';

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

/** Every file below `dir` (links followed, each directory once), sorted as os.walk + sorted() list them. */
function listFiles(dir: string, report: FolderReport, seen: Set<string>): string[] {
  const real = realpathSync(dir);
  if (seen.has(real)) {
    report.loops.push(dir);
    return [];
  }
  seen.add(real);
  const files: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      report.bad.push({ file: p, reason: `unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
      continue;
    }
    if (st.isDirectory()) files.push(...listFiles(p, report, seen));
    else if (st.isFile()) files.push(p);
  }
  return files;
}

/** Decodes to RGBA bytes. */
function decode(bytes: Uint8Array, kind: 'png' | 'jpeg'): Uint8Array {
  if (kind === 'png') return PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).data;
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6 + 1, maxMemoryUsageInMB: 2048 });
  return img.data;
}

/**
 * Loads the folder at `root` as an ImageSet of size x size images with `channels` channels
 * (default: 3 if any image has colour, else 1), labels from the class folders. A bad image is
 * named in the report and skipped (or, `strict`, refuses the folder).
 */
export async function loadImageFolder(root: string, o: FolderOptions): Promise<{ set: ImageSet; report: FolderReport }> {
  const report = emptyReport(root);
  const all = listFiles(root, report, new Set());
  const images = all.filter((f) => imageKind(f));
  report.ignored = all.length - images.length;
  const named = basename(realpathSync(root));
  const files = images.map((file) => ({
    name: file,
    parts: relative(root, file).split(/[\\/]/),
    read() {
      const kind = imageKind(file)!;
      const bytes = new Uint8Array(readFileSync(file));
      return readImage(bytes, kind, () => decode(bytes, kind));
    },
  }));
  return assembleImageSet(report, files, o, named);
}
