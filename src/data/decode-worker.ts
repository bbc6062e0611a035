/** A decoding worker (decode-pool.ts): reads, decodes, checks and resizes one image file per message. */
import { parentPort } from 'node:worker_threads';
import { readImageFile } from './decode.js';
import { prepareImage } from './image-folder.js';
import type { DecodeJob } from './decode-pool.js';

parentPort!.on('message', async ({ id, path, kind, channels, size }: DecodeJob) => {
  try {
    const prepared = await prepareImage({ read: () => readImageFile(path, kind) }, channels, size);
    const pixels = prepared.pixels.slice(); // its own buffer, moved to the main thread without a copy
    parentPort!.postMessage({ id, prepared: { ...prepared, pixels } }, [pixels.buffer]);
  } catch (err) {
    parentPort!.postMessage({ id, error: (err as Error).message });
  }
});
