/**
 * The memory of a trainer's (or sampler's) plans: their activations, gradients and scratch
 * tensors placed in shared slots. A plan is built twice. The first build gives every tensor a
 * buffer of its own, so its dispatches say when each tensor is first and last bound; the second
 * build puts each tensor in a slot that no tensor alive at the same time uses (greedy interval
 * colouring, best fit). Slots outlive plans: a smaller batch's plan (the short last batch of an
 * epoch) takes prefixes of the slots the full batch's plan sized, and costs no memory.
 *
 * Sharing is safe because plans run one dispatch after another on one queue, and no dispatch
 * binds two tensors of one slot (both would be alive at it). A tensor the host reads after the
 * plan ran (the fake batch for grids) is named live-out and kept to the end.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import { Tensor, numel } from '../gpu/tensor.js';

/** Hands out the tensors a plan allocates, in the order it asks for them. */
export type TensorAllocator = (label: string, shape: readonly number[]) => Tensor;

/** What the arena needs to know of a built plan. */
export interface PlanUse {
  /** Every dispatch the plan runs, in order. */
  dispatches: readonly Dispatch[];
  /** Tensors read after the plan ran, alive to its end. */
  liveOut: readonly Tensor[];
}

interface Request {
  label: string;
  floats: number;
  /** Its buffer's size in the first build (the allocator's rounding included): what a slot must hold. */
  bytes: number;
  buffer: GPUBuffer;
}

export class ActivationArena {
  private readonly slots: Array<{ buffer: GPUBuffer; bytes: number }> = [];
  /** Placements made so far, tried first for a plan allocating the same tensors (another batch size). */
  private readonly placements: Array<{ labels: string; slots: number[] }> = [];

  constructor(
    private readonly gpu: Gpu,
    readonly label: string,
  ) {}

  /** Bytes of all slots. */
  get bytes(): number {
    return this.slots.reduce((a, s) => a + s.bytes, 0);
  }

  /** Builds a plan with its tensors in this arena; `build` must allocate the same tensors in the same order each call. */
  async build<T>(build: (alloc: TensorAllocator) => Promise<T>, use: (plan: T) => PlanUse): Promise<T> {
    const requests: Request[] = [];
    const { value: probe, created } = await this.gpu.tracking(() =>
      build((label, shape) => {
        const t = this.gpu.tensor(label, shape);
        requests.push({ label, floats: t.size, bytes: t.buffer.size, buffer: t.buffer });
        return t;
      }),
    );
    let placement: number[];
    try {
      placement = this.place(requests, use(probe));
    } finally {
      for (const b of created) this.gpu.destroyBuffer(b);
    }
    let k = 0;
    const plan = await build((label, shape) => {
      const r = requests[k];
      const floats = numel(shape);
      if (!r || r.label !== label || r.floats !== floats) {
        throw new Error(`${this.label}: the plan allocated differently when rebuilt: tensor ${k} is "${label}" (${4 * floats} B), was ${r ? `"${r.label}" (${4 * r.floats} B)` : 'none'}`);
      }
      return new Tensor(this.slots[placement[k++]!]!.buffer, shape, 'f32', 0, label);
    });
    if (k !== requests.length) throw new Error(`${this.label}: the plan allocated ${k} tensors when rebuilt, ${requests.length} before`);
    return plan;
  }

  /** Slot index per request; creates the slots this plan needs beyond the existing ones. */
  private place(requests: readonly Request[], plan: PlanUse): number[] {
    const index = new Map(requests.map((r, k) => [r.buffer, k]));
    const first = requests.map(() => Infinity);
    const last = requests.map(() => -1);
    plan.dispatches.forEach((d, i) => {
      for (const b of d.buffers) {
        const k = index.get(b);
        if (k !== undefined) {
          first[k] = Math.min(first[k]!, i);
          last[k] = i;
        }
      }
    });
    const end = plan.dispatches.length;
    for (const t of plan.liveOut) {
      const k = index.get(t.buffer);
      if (k !== undefined) last[k] = end;
    }
    requests.forEach((_, k) => {
      // Never bound: kept alive throughout rather than guessed about.
      if (last[k]! < 0) [first[k], last[k]] = [0, end];
    });

    const labels = requests.map((r) => r.label).join('\n');
    for (const p of this.placements) {
      if (p.labels === labels && this.fits(p.slots, requests, first, last)) return p.slots;
    }

    // Existing slots keep their size (earlier plans bind them); slots new in this plan may grow.
    const fixed = this.slots.length;
    const sizes = this.slots.map((s) => s.bytes);
    const busyUntil = sizes.map(() => -1);
    const placement = requests.map(() => -1);
    const order = requests.map((_, k) => k).sort((a, b) => first[a]! - first[b]! || a - b);
    for (const k of order) {
      const need = requests[k]!.bytes;
      const free = busyUntil.flatMap((until, s) => (until < first[k]! ? [s] : []));
      let slot = free.filter((s) => sizes[s]! >= need).sort((a, b) => sizes[a]! - sizes[b]!)[0];
      slot ??= free.filter((s) => s >= fixed).sort((a, b) => sizes[b]! - sizes[a]!)[0];
      if (slot === undefined) {
        slot = sizes.length;
        sizes.push(0);
        busyUntil.push(-1);
      }
      sizes[slot] = Math.max(sizes[slot]!, need);
      busyUntil[slot] = last[k]!;
      placement[k] = slot;
    }
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    for (let s = fixed; s < sizes.length; s++) {
      this.slots.push({ buffer: this.gpu.createBuffer(`${this.label} slot ${s}`, sizes[s]!, usage), bytes: sizes[s]! });
    }
    this.placements.push({ labels, slots: placement });
    return placement;
  }

  /** Whether an earlier placement holds these tensors: each fits its slot, and no two in one slot are alive together. */
  private fits(placement: readonly number[], requests: readonly Request[], first: readonly number[], last: readonly number[]): boolean {
    if (requests.some((r, k) => r.bytes > this.slots[placement[k]!]!.bytes)) return false;
    const bySlot = new Map<number, number[]>();
    placement.forEach((s, k) => bySlot.set(s, [...(bySlot.get(s) ?? []), k]));
    for (const tenants of bySlot.values()) {
      tenants.sort((a, b) => first[a]! - first[b]!);
      if (tenants.some((k, i) => i > 0 && first[k]! <= last[tenants[i - 1]!]!)) return false;
    }
    return true;
  }

  destroy(): void {
    for (const s of this.slots) this.gpu.destroyBuffer(s.buffer);
    this.slots.length = 0;
  }
}
