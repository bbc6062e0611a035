/** What loading an image folder found, as console lines: check-data's full report and train's warnings. */
import type { FolderReport } from '../data/folder.js';

/** Lines about what was skipped or changed: each bad image (the first 10), upscaling, loops, files beside the classes. */
export function folderWarnings(r: FolderReport, size: number): string[] {
  const lines: string[] = [];
  if (r.bad.length) {
    lines.push(`warning  ${r.bad.length} image${r.bad.length > 1 ? 's' : ''} skipped (--strict-data refuses them instead):`);
    for (const b of r.bad.slice(0, 10)) lines.push(`           ${b.file}: ${b.reason}`);
    if (r.bad.length > 10) lines.push(`           ... and ${r.bad.length - 10} more`);
  }
  if (r.upscaled.count) lines.push(`warning  ${r.upscaled.count} image${r.upscaled.count > 1 ? 's are' : ' is'} smaller than ${size} px on the shorter side and upscaled (first: ${r.upscaled.first})`);
  if (r.outsideClasses) lines.push(`warning  ${r.outsideClasses} image${r.outsideClasses > 1 ? 's' : ''} beside the class folders ignored (ImageFolder reads only images inside a class folder)`);
  for (const loop of r.loops) lines.push(`warning  ${loop}: a link back to a directory already read (a symlink loop), not followed`);
  if (r.ignored) lines.push(`skipped  ${r.ignored} file${r.ignored > 1 ? 's that are' : ' that is'} not .png, .jpg or .jpeg`);
  return lines;
}

/** check-data's report: classes and counts, sizes and modes found, then the warnings. */
export function folderSummary(r: FolderReport, size: number, channels: number): string[] {
  const sizes = [...r.sizes.entries()].sort((a, b) => b[1] - a[1]);
  const area = (k: string) => k.split('x').map(Number).reduce((a, b) => a * b, 1);
  const byArea = [...r.sizes.keys()].sort((a, b) => area(a) - area(b));
  return [
    `classes  ${r.classes.length}: ${r.classes.map((c) => `${c.name} ${c.count}`).join(', ')}`,
    `sizes    ${r.sizes.size} distinct, smallest ${byArea[0]}, largest ${byArea[byArea.length - 1]}; most common ${sizes.slice(0, 5).map(([k, n]) => `${k} (${n})`).join(', ')}`,
    `modes    ${[...r.modes.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`,
    `channels ${channels} (${r.colour ? 'colour found' : 'all grey'}); resized to ${size}x${size} (shorter side, bilinear, centre crop; alpha over black)`,
    ...folderWarnings(r, size),
  ];
}
