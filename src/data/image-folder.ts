/**
 * An image folder as an ImageSet, whatever reads its files (Node's file system and decoders in
 * folder.ts, the browser's File objects and decoders in the page): torchvision's ImageFolder
 * layout (the first level of subfolders names the classes, sorted; a folder without subfolders
 * of images is one class), each image composited over black, made grey or RGB, and resized +
 * centre-cropped to the model's size (src/image/resize.ts), so only model-size bytes are kept.
 * No I/O here.
 */
import { fromRgba, hasColour, resizeCenterCrop } from '../image/resize.js';
import type { ImageSet } from './idx.js';

/** Images with more pixels than this are refused from their header, before decoding (64 megapixels: 8000 x 8000). */
export const MAX_IMAGE_PIXELS = 64 * 1024 * 1024;

const EXTENSIONS: Record<string, 'png' | 'jpeg'> = { png: 'png', jpg: 'jpeg', jpeg: 'jpeg' };

/** The image kind a file name says (by extension, any case), or null for another file. */
export function imageKind(name: string): 'png' | 'jpeg' | null {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? null : (EXTENSIONS[name.slice(dot + 1).toLowerCase()] ?? null);
}

/** What loading a folder found: per class, per size and mode, and what it skipped and why. */
export interface FolderReport {
  root: string;
  classes: Array<{ name: string; count: number }>;
  /** "WxH" -> images of that size (before resizing). */
  sizes: Map<string, number>;
  /** "PNG RGBA 8-bit", "JPEG grey", ... -> images. */
  modes: Map<string, number>;
  /** Files that are not .png/.jpg/.jpeg. */
  ignored: number;
  /** Images that could not be used, with the reason (corrupt, too large, ...). */
  bad: Array<{ file: string; reason: string }>;
  /** Images smaller than the model's size on their shorter side (upscaled), and the first of them. */
  upscaled: { count: number; first: string | null };
  /** Images beside the class folders (ImageFolder ignores them too). */
  outsideClasses: number;
  /** Directories reached again through a symbolic link (a loop), not read twice. */
  loops: string[];
  /** Whether any image has colour (a pixel whose R, G, B differ). */
  colour: boolean;
}

export interface FolderOptions {
  /** The model's image side. */
  size: number;
  /** 1 or 3; absent: 3 if any image has colour, else 1. */
  channels?: number;
  /** Refuse the folder at the first bad image instead of skipping it. */
  strict?: boolean;
  /** Called with progress lines on a long load. */
  log?: (line: string) => void;
}

export class FolderError extends Error {
  override name = 'FolderError';
}

/** An image file of a folder: where it is, and how to decode it (throwing the reason when it cannot). */
export interface ImageFile {
  /** Its name in messages. */
  name: string;
  /** Its path below the folder, as parts (["cats", "a.png"]). */
  parts: string[];
  read(): Promise<{ width: number; height: number; mode: string; rgba: Uint8Array }>;
  /** Decoded and resized elsewhere (Node's decoding workers): prepareImage's result for these channels and size. */
  prepare?(channels: number, size: number): Promise<PreparedImage>;
}

export function emptyReport(root: string): FolderReport {
  return { root, classes: [], sizes: new Map(), modes: new Map(), ignored: 0, bad: [], upscaled: { count: 0, first: null }, outsideClasses: 0, loops: [], colour: false };
}

/** Width and height from a PNG's IHDR or a JPEG's SOF marker; throws naming what is wrong. */
export function imageHeader(bytes: Uint8Array, kind: 'png' | 'jpeg'): { width: number; height: number; mode: string } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (kind === 'png') {
    const sig = [137, 80, 78, 71, 13, 10, 26, 10];
    if (bytes.length < 26 || sig.some((b, i) => bytes[i] !== b)) throw new Error('not a PNG file (bad signature)');
    if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new Error('corrupt PNG: no IHDR chunk first');
    const bitDepth = bytes[24]!;
    const colorType = bytes[25]!;
    const modes: Record<number, string> = { 0: 'grey', 2: 'RGB', 3: 'palette', 4: 'grey+alpha', 6: 'RGBA' };
    return { width: view.getUint32(16), height: view.getUint32(20), mode: `PNG ${modes[colorType] ?? `colour type ${colorType}`} ${bitDepth}-bit` };
  }
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error('not a JPEG file (no SOI marker)');
  let o = 2;
  while (o + 4 <= bytes.length) {
    if (bytes[o] !== 0xff) throw new Error(`corrupt JPEG: expected a marker at byte ${o}`);
    const marker = bytes[o + 1]!;
    if (marker === 0xff) {
      o++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      o += 2;
      continue;
    }
    const length = view.getUint16(o + 2);
    const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (sof) {
      if (o + 10 > bytes.length) break;
      const components = bytes[o + 9]!;
      return { width: view.getUint16(o + 7), height: view.getUint16(o + 5), mode: `JPEG ${components === 1 ? 'grey' : components === 3 ? 'colour' : `${components} components`}` };
    }
    if (marker === 0xd9 || marker === 0xda) break;
    o += 2 + length;
  }
  throw new Error('corrupt JPEG: no frame header (SOF) found');
}

/**
 * One image file's checks and decode, the same wherever its bytes come from: the header (at
 * least the file's first bytes) read and checked against MAX_IMAGE_PIXELS before `decode` runs,
 * and a decoder's failure reported as a corrupt file of its kind.
 */
export async function readImage(
  head: Uint8Array,
  kind: 'png' | 'jpeg',
  decode: (size: { width: number; height: number }) => Uint8Array | Promise<Uint8Array>,
): Promise<{ width: number; height: number; mode: string; rgba: Uint8Array }> {
  const { width, height, mode } = imageHeader(head, kind);
  if (width === 0 || height === 0) throw new Error(`empty image (${width}x${height})`);
  if (width * height > MAX_IMAGE_PIXELS) throw new Error(`${width}x${height} is over the ${MAX_IMAGE_PIXELS / 1024 / 1024} megapixel limit for an image (refused before decoding)`);
  try {
    return { width, height, mode, rgba: await decode({ width, height }) };
  } catch (err) {
    throw new Error(`corrupt ${kind === 'png' ? 'PNG' : 'JPEG'}: ${(err as Error).message}`);
  }
}

/** One image decoded, checked and resized to the model's size: what the folder's set keeps of it. */
export interface PreparedImage {
  width: number;
  height: number;
  mode: string;
  /** Whether any pixel has colour (R, G, B differ). */
  colour: boolean;
  /** channels x size x size bytes. */
  pixels: Uint8Array;
}

/** With decoding workers, decodes run this far ahead of the one being assembled (workers kept busy, memory bounded); without, one at a time. */
const PREPARE_AHEAD = 64;

/** An image file decoded (file.read), checked and resized to `channels` x `size` x `size`. */
export async function prepareImage(file: Pick<ImageFile, 'read'>, channels: number, size: number): Promise<PreparedImage> {
  const { width, height, mode, rgba } = await file.read();
  if (rgba.length !== width * height * 4) throw new Error(`corrupt image: decoded ${rgba.length} bytes for ${width}x${height}`);
  return { width, height, mode, colour: hasColour(rgba, width * height), pixels: resizeCenterCrop(fromRgba(rgba, width * height, channels), width, height, channels, size) };
}

/**
 * The ImageSet of a folder's image files (in the order given: sorted as os.walk + sorted() list
 * them), size x size with `channels` channels (default: 3 if any image has colour, else 1),
 * labels from the class folders (`folderName` names the one class of a folder without them). A
 * bad image is named in `report` and skipped (or, `strict`, refuses the folder).
 */
export async function assembleImageSet(report: FolderReport, files: ImageFile[], o: FolderOptions, folderName: string): Promise<{ set: ImageSet; report: FolderReport }> {
  const root = report.root;
  if (o.channels !== undefined && o.channels !== 1 && o.channels !== 3) throw new FolderError(`channels: expected 1 or 3, found ${o.channels}`);
  // ImageFolder: classes are the first-level subfolders that hold images; files beside them are not in any class.
  const classOf = (f: ImageFile) => (f.parts.length > 1 ? f.parts[0]! : null);
  const classNames = [...new Set(files.map(classOf).filter((c): c is string => c !== null))].sort();
  const single = classNames.length === 0;
  const names = single ? [folderName] : classNames;
  const members = single ? files : files.filter((f) => classOf(f) !== null);
  report.outsideClasses = files.length - members.length;
  if (members.length === 0) {
    throw new FolderError(`${root}: no PNG or JPEG images found${report.ignored ? ` (${report.ignored} other files ignored)` : ''}${report.bad.length ? `; ${report.bad.length} unreadable` : ''}`);
  }
  if (names.length > 256) throw new FolderError(`${root}: ${names.length} class folders; at most 256 classes are supported`);
  // Decoded as RGB unless grey is asked for; all-grey data is then cut to one plane, which is
  // exactly what converting each image to grey first would give (R = G = B throughout).
  const decodeChannels = o.channels ?? 3;
  const per = decodeChannels * o.size * o.size;
  const pixels = new Uint8Array(members.length * per);
  const labels = new Uint8Array(members.length);
  let count = 0;
  let lastLog = performance.now();
  // Decodes run ahead of the loop, a window at a time (the workers' queue), results taken in order.
  const started: Array<Promise<PreparedImage>> = [];
  const start = (i: number) => {
    const f = members[i];
    if (!f || started[i]) return;
    started[i] = f.prepare ? f.prepare(decodeChannels, o.size) : prepareImage(f, decodeChannels, o.size);
    started[i].catch(() => {}); // a bad image's error is taken when its turn comes, not as an unhandled rejection
  };
  for (const [i, file] of members.entries()) {
    for (let j = i; j < i + (file.prepare ? PREPARE_AHEAD : 1); j++) start(j);
    try {
      const { width, height, mode, colour, pixels: resized } = await started[i]!;
      report.colour ||= colour;
      const key = `${width}x${height}`;
      report.sizes.set(key, (report.sizes.get(key) ?? 0) + 1);
      report.modes.set(mode, (report.modes.get(mode) ?? 0) + 1);
      if (Math.min(width, height) < o.size) {
        report.upscaled.count++;
        report.upscaled.first ??= file.name;
      }
      pixels.set(resized, count * per);
      labels[count] = single ? 0 : names.indexOf(classOf(file)!);
      count++;
    } catch (err) {
      const reason = (err as Error).message;
      if (o.strict) throw new FolderError(`${file.name}: ${reason} (--strict-data refuses the folder at the first bad image)`);
      report.bad.push({ file: file.name, reason });
    }
    delete started[i];
    if (o.log && performance.now() - lastLog > 2000) {
      o.log(`loading  ${i + 1}/${members.length} images from ${root}`);
      lastLog = performance.now();
    }
  }
  if (count === 0) throw new FolderError(`${root}: none of its ${members.length} images could be read (first: ${report.bad[0]!.file}: ${report.bad[0]!.reason})`);
  report.classes = names.map((name, k) => ({ name, count: labels.subarray(0, count).filter((l) => l === k).length }));
  const empty = report.classes.filter((c) => c.count === 0);
  if (empty.length) throw new FolderError(`${root}: class folder${empty.length > 1 ? 's' : ''} ${empty.map((c) => `"${c.name}"`).join(', ')} hold${empty.length > 1 ? '' : 's'} no readable image`);
  const channels = o.channels ?? (report.colour ? 3 : 1);
  let kept = pixels.subarray(0, count * per);
  if (channels !== decodeChannels) {
    // All grey: keep the first plane of each image.
    const plane = o.size * o.size;
    const grey = new Uint8Array(count * plane);
    for (let k = 0; k < count; k++) grey.set(kept.subarray(k * per, k * per + plane), k * plane);
    kept = grey;
  }
  return {
    set: { count, channels, height: o.size, width: o.size, pixels: kept, labels: labels.subarray(0, count), source: root, classNames: names },
    report,
  };
}

/** An ImageSet resized (and given channels) for a model of `size` x `size` x `channels`, as the folder loader does; the same set when it already fits. */
export function fitImageSet(set: ImageSet, size: number, channels: number): ImageSet {
  if (set.height === size && set.width === size && set.channels === channels) return set;
  if (set.channels !== 1 && set.channels !== channels) throw new FolderError(`${set.source}: ${set.channels}-channel images cannot become ${channels}-channel ones`);
  const plane = set.height * set.width;
  const out = new Uint8Array(set.count * channels * size * size);
  for (let k = 0; k < set.count; k++) {
    const grey = resizeCenterCrop(set.pixels.subarray(k * plane * set.channels, k * plane * set.channels + plane), set.width, set.height, 1, size);
    for (let c = 0; c < channels; c++) out.set(grey, (k * channels + c) * size * size);
  }
  return { ...set, channels, height: size, width: size, pixels: out };
}
