/**
 * Adam over a whole parameter arena: one dispatch updates every parameter, m and v (one per
 * span of the adapter's binding limit when the arena is larger). The step counter lives on the
 * host (PyTorch keeps one per tensor; all advance together here).
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { ParameterArena } from '../layers/arena.js';
import { packUniforms } from '../gpu/program.js';
import { ADAM_UNIFORMS, adamParams, adamProgram, type AdamHyper } from '../shaders/adam.js';

export class Adam {
  /** Steps taken so far (PyTorch's state['step']). */
  step = 0;

  private constructor(
    private readonly gpu: Gpu,
    readonly arena: ParameterArena,
    readonly hyper: Readonly<AdamHyper>,
    /** One dispatch per span of the arena (one, unless the arena is over a binding). */
    readonly dispatches: readonly Dispatch[],
    /** Each span's uniform, with its own count. */
    private readonly params: ReadonlyArray<{ buffer: GPUBuffer; n: number }>,
  ) {}

  /** `spanBytes`: the most one dispatch binds (the adapter's limit; smaller in tests of the spans). */
  static async create(gpu: Gpu, arena: ParameterArena, hyper: AdamHyper, spanBytes = gpu.bindingLimit): Promise<Adam> {
    for (const [k, v] of Object.entries(hyper)) {
      if (!Number.isFinite(v) || v < 0) throw new Error(`Adam ${k}: expected a finite value >= 0, found ${v}`);
    }
    if (hyper.beta1 >= 1 || hyper.beta2 >= 1) throw new Error(`Adam betas must be < 1, found (${hyper.beta1}, ${hyper.beta2})`);
    const program = adamProgram(hyper.weightDecay);
    const spans = arena.spans(spanBytes);
    const params = spans.map((s, k) => ({ buffer: program.uniform(gpu, adamParams(s.length, 1, hyper), `${arena.label} adam params ${k}`), n: s.length }));
    const dispatches = await Promise.all(
      spans.map((s, k) => program.prepare(gpu, { n: s.length }, { param: arena.slice('param', s), grad: arena.slice('grad', s), m: arena.slice('adam_m', s), v: arena.slice('adam_v', s) }, { uniform: params[k]!.buffer })),
    );
    return new Adam(gpu, arena, hyper, dispatches, params);
  }

  /**
   * Advances the step counter and writes its bias corrections and learning rate (`lr`: the
   * step's rate from a schedule, as PyTorch's LR schedulers set group['lr']; default the
   * configured one); run `dispatches` after this.
   */
  nextStep(lr = this.hyper.lr): void {
    this.step++;
    const hyper = { ...this.hyper, lr };
    for (const p of this.params) this.gpu.writeState(p.buffer, 0, new Uint8Array(packUniforms(ADAM_UNIFORMS, adamParams(p.n, this.step, hyper), 'adam.step')));
  }
}
