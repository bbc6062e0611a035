/**
 * The page's checkpoints, kept in IndexedDB so that a closed or reloaded tab keeps its run: the
 * last checkpoint of each run (the same files the CLI writes into a step directory), replaced
 * at every save (the page's cadence and Pause).
 */
const DB = 'webgpu-dcgan';
const STORE = 'runs';

export interface SavedRun {
  /** The run's id: when it started (ms since the epoch), so the newest sorts last. */
  id: number;
  savedAt: number;
  step: number;
  epoch: number;
  batchIndex: number;
  batchSize: number;
  seed: number;
  /** [file name, bytes]: generator, discriminator, optimizer safetensors. */
  files: Array<[string, Uint8Array]>;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`IndexedDB ${DB}: ${req.error?.message ?? 'cannot open'}`));
  });
}

async function request<T>(mode: IDBTransactionMode, body: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = body(tx.objectStore(STORE));
      // Resolved when the transaction commits: a write is on disk (as far as the browser says) before we report it.
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(new Error(`IndexedDB ${DB}: ${tx.error?.message ?? 'transaction failed'}`));
      tx.onabort = () => reject(new Error(`IndexedDB ${DB}: ${tx.error?.message ?? 'transaction aborted'} (is the browser's storage full?)`));
    });
  } finally {
    db.close();
  }
}

/** Stores (or replaces) a run's last checkpoint. */
export const putRun = (run: SavedRun) => request('readwrite', (s) => s.put(run)).then(() => undefined);

/** Every saved run, oldest first. */
export const savedRuns = () => request<SavedRun[]>('readonly', (s) => s.getAll() as IDBRequest<SavedRun[]>).then((runs) => runs.sort((a, b) => a.id - b.id));

/** Forgets every saved run. */
export const clearRuns = () => request('readwrite', (s) => s.clear()).then(() => undefined);
