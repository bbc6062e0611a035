/**
 * Sequential, numbered like PyTorch's nn.Sequential under an attribute (`model`, or `main` for
 * pytorch/examples' dcgan), so arena names are exactly the state_dict keys: `model.0.weight`,
 * `model.1.running_mean`, ... A layer constructed unnumbered (a view PyTorch's module does
 * outside its Sequential) takes no index.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Tensor } from '../gpu/tensor.js';
import { Arena, PARAM_ROLES, type ParameterArena, type StateArena } from './arena.js';
import { arenaSource, Layer, type BackwardOptions, type DyFeed, type ForwardOptions, type Saved } from './layer.js';
import type { ConvPath, PlanBuilder } from './plan.js';

/** A Sequential's forward: its output, and each layer's saved state in order (the tape its backward reads). */
export interface SequentialSaved extends Saved {
  tape: Saved[];
}

/**
 * Layers in order. As a model's root it owns the arenas (`allocate`); inside another layer it is
 * a child like any other, its layers named under its prefix (`model.2.0.weight`), as a nested
 * nn.Sequential's are. Fusion stays within one Sequential.
 */
export class Sequential extends Layer<SequentialSaved> {
  readonly kind = 'Sequential';
  params!: ParameterArena;
  state!: StateArena;
  private readonly names: string[];

  constructor(
    readonly label: string,
    readonly layers: Layer[],
    /** The root's attribute and dot (`model.`, `main.`); a parent's prefix replaces it. */
    prefix = 'model.',
    /** One input's shape, without the batch dimension (G: [latent], D: [C, H, W]); [] when unknown. */
    readonly inputShape: readonly number[] = [],
  ) {
    super();
    let i = 0;
    this.names = layers.map((l) => (l.numbered ? `${i++}` : `(${l.kind})`));
    this.prefix = prefix;
  }

  override children(): ReadonlyArray<readonly [string, Layer]> {
    return this.layers.map((l, i) => [this.names[i]!, l] as const);
  }

  /** Allocates the parameter arena (param, grad, adam_m, adam_v) and the state arena, and binds every layer to them. */
  allocate(gpu: Gpu): this {
    this.params = new Arena(gpu, `${this.label}.params`, this.namedParamSpecs(), PARAM_ROLES);
    this.state = new Arena(gpu, `${this.label}.state`, this.namedStateSpecs(), ['state'] as const);
    this.bind(arenaSource(this.params, this.state));
    return this;
  }

  outputShape(input: readonly number[]): number[] {
    return this.layers.reduce<number[]>((shape, l) => l.outputShape(shape), [...input]);
  }

  override largestBufferFloats(input: readonly number[], conv: ConvPath = 'auto'): number {
    return this.largestBuffer(input, conv).floats;
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
   * `o.groups` passes to every layer (BatchNorm keeps statistics per group).
   */
  async forward(plan: PlanBuilder, x: Tensor, o: ForwardOptions): Promise<SequentialSaved> {
    const tape: Saved[] = [];
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers[i]!;
      let a = i + 1; // the activation's index, past views such as Identity (SNGAN's D: Conv2d, Identity, LeakyReLU)
      while (this.layers[a]?.passesThrough) a++;
      const next = plan.fuse !== false ? this.layers[a]?.asActivation : undefined;
      const act = next && (l.fusesActivation === 'epilogue' || (l.fusesActivation === 'training' && o.training)) ? next : undefined;
      const s = await l.forward(plan, h, { training: o.training, ...(o.groups ? { groups: o.groups } : {}), ...(act ? { act } : {}) });
      tape.push(s);
      h = s.y;
      if (!act) continue;
      // The views' entries (their backward passes dy on), then the activation's: skipped by backward where its backward ran in this layer's.
      for (let v = i + 1; v < a; v++) tape.push({ x: s.y, y: s.y });
      tape.push(l.fusesActivation === 'training' ? { x: s.y, y: s.y, fusedInto: s.y } : { x: s.y, y: s.y });
      i = a;
    }
    return { x, y: h, tape };
  }

  /**
   * Backward through the tape of one forward; returns dx of the first layer when asked for. A
   * layer that feedsLayerBefore (BatchNorm) also does in its backward what the layer before it
   * takes from it (DyFeed: its bias gradient, dy batch-innermost), with `plan.fuse`.
   */
  async backward(plan: PlanBuilder, { tape }: SequentialSaved, dy: Tensor, o: BackwardOptions): Promise<Tensor | null> {
    // A layer's dx is needed by the layers before it only if one of them has parameters.
    const needDxAt = (i: number) => o.needDx || this.layers.slice(0, i).some((l) => l.namedParamSpecs().length > 0);
    const { fed: _outer, feedsBefore: _none, ...base } = o;
    let g: Tensor | null = dy;
    let fed: DyFeed | undefined;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const needDx = needDxAt(i);
      if (tape[i]!.fusedInto) continue; // its backward happens in the layer before it
      const layer = this.layers[i]!;
      const before = this.layers[i - 1];
      const feedsBefore = layer.feedsLayerBefore && before && needDx && plan.fuse !== false ? layer.grants(plan, tape[i]!, before.dyFeed(plan, tape[i - 1]!, { ...base, needDx: needDxAt(i - 1) })) : undefined;
      g = await layer.backward(plan, tape[i]!, g!, { ...base, needDx, ...(fed ? { fed } : {}), ...(feedsBefore ? { feedsBefore } : {}) });
      fed = feedsBefore;
      if (!needDx) break;
    }
    return g;
  }
}
