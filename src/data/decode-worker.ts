/** A decoding worker (decode-pool.ts): reads, decodes, checks and resizes one image file per message. */
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { readImageBytes } from './decode.js';
import { prepareImage } from './image-folder.js';
import type { DecodeJob } from './decode-pool.js';

parentPort!.on('message', async ({ id, path, kind, channels, size }: DecodeJob) => {
  try {
    const bytes = new Uint8Array(readFileSync(path));
    const prepared = await prepareImage({ read: () => readImageBytes(bytes, kind) }, channels, size);
    const pixels = prepared.pixels.slice(); // its own buffer, moved to the main thread without a copy
    parentPort!.postMessage({ id, prepared: { ...prepared, pixels } }, [pixels.buffer]);
  } catch (err) {
    parentPort!.postMessage({ id, error: (err as Error).message });
  }
});
