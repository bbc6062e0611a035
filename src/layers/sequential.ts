/**
 * Sequential, numbered like PyTorch's nn.Sequential under an attribute (`model`, or `main` for
 * pytorch/examples' dcgan), so arena names are exactly the state_dict keys: `model.0.weight`,
 * `model.1.running_mean`, ... A layer constructed unnumbered (a view PyTorch's module does
 * outside its Sequential) takes no index.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Tensor } from '../gpu/tensor.js';
import { Arena, PARAM_ROLES, type ParameterArena, type StateArena } from './arena.js';
import type { BackwardOptions, ConvPath, DyFeed, Layer, PlanBuilder, Saved, TensorSpec } from './layer.js';

export class Sequential {
  params!: ParameterArena;
  state!: StateArena;

  constructor(
    readonly label: string,
    readonly layers: Layer[],
    readonly prefix = 'model.',
    /** One input's shape, without the batch dimension (G: [latent], D: [C, H, W]); [] when unknown. */
    readonly inputShape: readonly number[] = [],
  ) {
    let i = 0;
    for (const l of layers) l.prefix = l.numbered ? `${prefix}${i++}.` : `${prefix}(${l.kind}).`;
  }

  paramSpecs(): TensorSpec[] {
    return this.layers.flatMap((l) => l.paramSpecs().map((s) => ({ ...s, name: l.prefix + s.name })));
  }

  stateSpecs(): TensorSpec[] {
    return this.layers.flatMap((l) => l.stateSpecs().map((s) => ({ ...s, name: l.prefix + s.name })));
  }

  /** Allocates the parameter arena (param, grad, adam_m, adam_v) and the state arena. */
  allocate(gpu: Gpu): this {
    this.params = new Arena(gpu, `${this.label}.params`, this.paramSpecs(), PARAM_ROLES);
    this.state = new Arena(gpu, `${this.label}.state`, this.stateSpecs(), ['state'] as const);
    for (const l of this.layers) l.bind(this.params, this.state);
    return this;
  }

  outputShape(input: readonly number[]): number[] {
    return this.layers.reduce<number[]>((shape, l) => l.outputShape(shape), [...input]);
  }

  /** The largest buffer any layer allocates for `input`, and which layer. */
  largestBuffer(input: readonly number[], conv: ConvPath = 'auto'): { floats: number; layer: string } {
    let shape = [...input];
    let best = { floats: 0, layer: '' };
    for (const l of this.layers) {
      const floats = l.largestBufferFloats(shape, conv);
      if (floats > best.floats) best = { floats, layer: `${l.prefix.slice(0, -1)} (${l.kind})` };
      shape = l.outputShape(shape);
    }
    return best;
  }

  /**
   * An activation (a layer with asActivation) runs inside the kernel before it, which saves its
   * forward dispatch and its input buffer: two dispatches fewer per pair and pass, where the
   * layer before declares it (fusesActivation). `plan.fuse === false` turns this off.
   *  - `training` (BatchNorm): the activation in BN's output loop and its backward in BN's
   *    backward loads (its backward is skipped); forward bit-identical, backward within a few
   *    ulps (tested).
   *  - `epilogue` (Conv2d, ConvTranspose2d, Linear): in the GEMM's (or col2im's) epilogue, after
   *    the bias. Its backward still runs on its own, from the fused output it saved.
   * `groups`: the batch is that many batches of equal size, each with its own BatchNorm
   * statistics (BatchNorm.forward).
   */
  async forward(plan: PlanBuilder, x: Tensor, training: boolean, groups = 1): Promise<{ y: Tensor; tape: Saved[] }> {
    const tape: Saved[] = [];
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers[i]!;
      const next = plan.fuse !== false ? this.layers[i + 1]?.asActivation : undefined;
      const act = next && (l.fusesActivation === 'epilogue' || (l.fusesActivation === 'training' && training)) ? next : undefined;
      const s = await l.forward(plan, h, training, act, groups);
      tape.push(s);
      h = s.y;
      if (!act) continue;
      // The activation's own entry: skipped by backward where its backward ran in this layer's.
      tape.push(l.fusesActivation === 'training' ? { x: s.y, y: s.y, fusedInto: s.y } : { x: s.y, y: s.y });
      i++;
    }
    return { y: h, tape };
  }

  /**
   * Backward through the tape of one forward; returns dx of the first layer when asked for. A
   * layer that feedsLayerBefore (BatchNorm) also does in its backward what the layer before it
   * takes from it (DyFeed: its bias gradient, dy batch-innermost), with `plan.fuse`.
   */
  async backward(plan: PlanBuilder, tape: Saved[], dy: Tensor, o: BackwardOptions): Promise<Tensor | null> {
    // A layer's dx is needed by the layers before it only if one of them has parameters.
    const needDxAt = (i: number) => o.needDx || this.layers.slice(0, i).some((l) => l.paramSpecs().length > 0);
    let g: Tensor | null = dy;
    let fed: DyFeed | undefined;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const needDx = needDxAt(i);
      if (tape[i]!.fusedInto) continue; // its backward happens in the layer before it
      const layer = this.layers[i]!;
      const before = this.layers[i - 1];
      const opts = { ...o, needDx, ...(fed ? { fed } : {}) };
      fed = layer.feedsLayerBefore && before && needDx && plan.fuse !== false ? layer.grants(plan, tape[i]!, before.dyFeed(plan, tape[i - 1]!, { ...o, needDx: needDxAt(i - 1) })) : undefined;
      g = await layer.backward(plan, tape[i]!, g!, opts, fed);
      if (!needDx) break;
    }
    return g;
  }
}
