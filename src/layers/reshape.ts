/** Flatten, Unflatten and Identity: views of the same memory, no dispatch (NCHW is already row-major). */
import { numel, type Tensor } from '../gpu/tensor.js';
import { Layer, type BackwardOptions, type Saved } from './layer.js';
import type { PlanBuilder } from './plan.js';

abstract class Reshape extends Layer {
  /** `numbered` false: a view outside the PyTorch module's Sequential (pytorch/examples' G reshapes z before its `main`, its D its output after). */
  constructor(numbered = true) {
    super();
    this.numbered = numbered;
  }

  async forward(_plan: PlanBuilder, x: Tensor): Promise<Saved> {
    return { x, y: x.view(this.outputShape(x.shape)) };
  }

  async backward(_plan: PlanBuilder, { x }: Saved, dy: Tensor, o: BackwardOptions): Promise<Tensor | null> {
    return o.needDx ? dy.view(x.shape) : null;
  }
}

/** Flatten(start_dim=1): [N, ...] -> [N, prod(...)]. */
export class Flatten extends Reshape {
  readonly kind = 'Flatten';
  outputShape(input: readonly number[]): number[] {
    return [input[0]!, numel(input.slice(1))];
  }
}

/** Unflatten(1, shape): [N, prod(shape)] -> [N, ...shape]. */
export class Unflatten extends Reshape {
  readonly kind = 'Unflatten';
  constructor(
    readonly shape: number[],
    numbered = true,
  ) {
    super(numbered);
  }
  outputShape(input: readonly number[]): number[] {
    if (input.length !== 2 || input[1] !== numel(this.shape)) {
      throw new Error(`${this.prefix}Unflatten: cannot unflatten [${input.join(', ')}] to [N, ${this.shape.join(', ')}]`);
    }
    return [input[0]!, ...this.shape];
  }
}

/** nn.Identity: a numbered place with no parameters, where an optional layer is left out (D's BatchNorm under --d-norm none), so the layers after it keep PyTorch's indices. */
export class Identity extends Reshape {
  readonly kind = 'Identity';
  override readonly passesThrough = true;
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
}
