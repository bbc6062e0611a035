/**
 * An exponential moving average of a model's parameters, kept on the GPU in an arena with the
 * parameter arena's layout (same offsets), updated by one dispatch (per binding-sized span)
 * after each optimiser step.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import { Arena } from '../layers/arena.js';
import type { Sequential } from '../layers/sequential.js';
import { emaProgram } from '../shaders/ema.js';

export class Ema {
  private constructor(
    private readonly gpu: Gpu,
    readonly arena: Arena<'ema'>,
    readonly decay: number,
    /** One dispatch per span of the arena (one, unless it is over a binding). */
    readonly dispatches: readonly Dispatch[],
  ) {}

  /** The average's arena, uninitialised: load() its starting values (the model's initial parameters, or a checkpoint's). */
  static async create(gpu: Gpu, model: Sequential, decay: number): Promise<Ema> {
    if (!(decay > 0 && decay < 1)) throw new Error(`EMA decay: expected a number in (0, 1), found ${decay}`);
    const arena = new Arena(gpu, `${model.label}.ema`, model.namedParamSpecs(), ['ema'] as const);
    // The same offsets in both arenas: a span of one is the same span of the other.
    const dispatches = await Promise.all(
      arena.spans(gpu.bindingLimit).map((s) => emaProgram().prepare(gpu, { n: s.length }, { param: model.params.slice('param', s), ema: arena.slice('ema', s) }, { n: s.length, decay, one_minus_decay: 1 - decay })),
    );
    return new Ema(gpu, arena, decay, dispatches);
  }

  /** Writes named parameter values (state_dict keys) into the average. */
  load(values: Map<string, Float32Array>): void {
    for (const [name, v] of values) if (this.arena.entries.has(name)) this.gpu.write(this.arena.view('ema', name), v);
  }
}
