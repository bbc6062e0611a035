/**
 * Where the GEMM tuner's winners persist between runs (a JSON file in Node, localStorage in a
 * page): records by key. The runtime's adapters provide the store; the tuner
 * (src/layers/matmul-tuner.ts) owns what the keys and records mean.
 */
export interface TuneStore {
  load(): Record<string, TuneRecord>;
  save(records: Record<string, TuneRecord>): void;
  /** Where the store lives, for messages. */
  where: string;
}

export interface TuneRecord {
  /** A matmul variant, or a conv GEMM program (`conv_32x16`). */
  variant: string;
  /** GFLOP/s of every candidate timed, fastest first. */
  timings: Record<string, number>;
  /** The tune mode that timed them (quick or full). */
  mode: string;
}
