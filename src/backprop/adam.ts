/**
 * Adam over a whole parameter arena: one dispatch updates every parameter, m and v.
 * The step counter lives on the host (PyTorch keeps one per tensor; all advance together here).
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
    readonly dispatch: Dispatch,
    private readonly params: GPUBuffer,
  ) {}

  static async create(gpu: Gpu, arena: ParameterArena, hyper: AdamHyper): Promise<Adam> {
    for (const [k, v] of Object.entries(hyper)) {
      if (!Number.isFinite(v) || v < 0) throw new Error(`Adam ${k}: expected a finite value >= 0, found ${v}`);
    }
    if (hyper.beta1 >= 1 || hyper.beta2 >= 1) throw new Error(`Adam betas must be < 1, found (${hyper.beta1}, ${hyper.beta2})`);
    const n = arena.length;
    const program = adamProgram(hyper.weightDecay);
    const params = program.uniform(gpu, adamParams(n, 1, hyper), `${arena.label} adam params`);
    const dispatch = await program.prepare(gpu, { n }, { param: arena.all('param'), grad: arena.all('grad'), m: arena.all('adam_m'), v: arena.all('adam_v') }, { uniform: params });
    return new Adam(gpu, arena, hyper, dispatch, params);
  }

  /**
   * Advances the step counter and writes its bias corrections and learning rate (`lr`: the
   * step's rate from a schedule, as PyTorch's LR schedulers set group['lr']; default the
   * configured one); run `dispatch` after this.
   */
  nextStep(lr = this.hyper.lr): void {
    this.step++;
    const hyper = { ...this.hyper, lr };
    this.gpu.writeState(this.params, 0, new Uint8Array(packUniforms(ADAM_UNIFORMS, adamParams(this.arena.length, this.step, hyper), 'adam.step')));
  }
}
