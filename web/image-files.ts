/**
 * Images the user picks (a folder through <input webkitdirectory>) or drops, as the image-folder
 * assembler's files: the same ImageFolder classes, header check, resize and report as `train
 * --data DIR`, with the browser's own decoders (createImageBitmap, no colour-space conversion,
 * alpha not premultiplied) instead of pngjs and jpeg-js.
 */
import { assembleImageSet, emptyReport, imageKind, readImage, type FolderOptions, type FolderReport, type ImageFile } from '../src/data/image-folder.js';
import type { ImageSet } from '../src/data/idx.js';

/** Decodes one file to RGBA bytes with the browser's decoder, after the header check Node does. */
async function decode(file: File, kind: 'png' | 'jpeg'): Promise<{ width: number; height: number; mode: string; rgba: Uint8Array }> {
  const head = new Uint8Array(await file.slice(0, 256 * 1024).arrayBuffer());
  return readImage(head, kind, async ({ width, height }) => {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    } catch (err) {
      throw new Error(`the browser could not decode it (${(err as Error).message})`);
    }
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    const data = ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  });
}

/**
 * The files' images as an ImageSet for a size x size model. A picked folder's files carry their
 * path (webkitRelativePath: "folder/class/name.png"), so its subfolders are the classes; dropped
 * files without one are a single class.
 */
export async function imageSetFromFiles(list: readonly File[], o: FolderOptions): Promise<{ set: ImageSet; report: FolderReport }> {
  const paths = list.map((f) => (f.webkitRelativePath || f.name).split('/'));
  const folder = paths.every((p) => p.length > 1) ? paths[0]![0]! : 'dropped images';
  const report = emptyReport(folder);
  const files: ImageFile[] = [];
  list.forEach((file, i) => {
    const kind = imageKind(file.name);
    if (!kind) {
      report.ignored++;
      return;
    }
    const parts = folder === 'dropped images' ? [file.name] : paths[i]!.slice(1);
    files.push({ name: paths[i]!.join('/'), parts, read: () => decode(file, kind) });
  });
  // As os.walk + sorted() list a folder: by path.
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return assembleImageSet(report, files, o, folder);
}
