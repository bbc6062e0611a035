/**
 * Image files decoded and resized on worker threads, one per core by default: decoding is the
 * cost of loading a folder, and each file is independent. Results are exactly the main thread's
 * (the same prepareImage); with one thread no worker is started (`parallel` false) and the
 * caller decodes in its own thread.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PreparedImage } from './image-folder.js';

export interface DecodeJob {
  id: number;
  path: string;
  kind: 'png' | 'jpeg';
  channels: number;
  size: number;
}

type Reply = { id: number; prepared: PreparedImage } | { id: number; error: string };

/** Run from the TypeScript sources (tests, tsx), a worker needs tsx's loader; built, it is plain JavaScript. */
const WORKER = new URL(`./decode-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

export class DecodePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (p: PreparedImage) => void; reject: (e: Error) => void }>();
  private next = 0;
  /** Why the pool stopped (a worker died): every job after it fails with this, none waits forever. */
  broken: Error | null = null;

  constructor(readonly threads = availableParallelism()) {
    if (threads < 2) return;
    for (let i = 0; i < threads; i++) {
      const w = WORKER.pathname.endsWith('.ts')
        ? new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(WORKER.href)}); });`, { eval: true })
        : new Worker(WORKER);
      w.on('message', (r: Reply) => this.settle(r));
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => this.fail(new Error(`exited with code ${code}`)));
      this.workers.push(w);
    }
  }

  /** Whether workers decode (two threads or more). */
  get parallel(): boolean {
    return this.workers.length > 0;
  }

  /** The file decoded, checked and resized to channels x size x size on a worker; rejects with the reason it cannot be. */
  prepare(path: string, kind: 'png' | 'jpeg', channels: number, size: number): Promise<PreparedImage> {
    if (this.broken || !this.parallel) return Promise.reject(this.broken ?? new Error('the decoding pool has no workers'));
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[id % this.workers.length]!.postMessage({ id, path, kind, channels, size } satisfies DecodeJob);
    });
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    this.broken ??= new Error('the decoding pool is closed');
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private settle(r: Reply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if ('error' in r) p.reject(new Error(r.error));
    else p.resolve(r.prepared);
  }

  /** A worker died: the pool is done (its jobs, and every later one, fail with the reason). */
  private fail(err: Error): void {
    if (this.broken) return;
    this.broken = new Error(`a decoding worker failed: ${err.message}`);
    for (const p of this.pending.values()) p.reject(this.broken);
    this.pending.clear();
  }
}
