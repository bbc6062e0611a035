/**
 * Layers that hold layers (src/layers/layer.ts: children, prefix, bind). A Sequential inside a
 * Sequential names its tensors as a nested nn.Sequential's state_dict does and computes what the
 * flat model computes; a wrapper that makes its layer's weight before the layer's forward (the
 * shape of spectral normalisation) is one class, written here: it rebinds its inner layer's
 * `weight` to a tensor it computes and routes that tensor's gradient back to `weight_orig`.
 * Comparisons are bit for bit: the same kernels run on the same values in the same order.
 */
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/gpu.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { BatchNorm1d } from '../src/layers/batchnorm.js';
import { ReLU } from '../src/layers/activation.js';
import { Layer, type BackwardOptions, type ForwardOptions, type Saved, type TensorSource, type TensorSpec } from '../src/layers/layer.js';
import { Linear } from '../src/layers/linear.js';
import { copyInto } from '../src/layers/ops.js';
import { PlanBuilder } from '../src/layers/plan.js';
import { Sequential } from '../src/layers/sequential.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';
import { hashTensor } from './helpers/hashdata.js';

/** A Linear whose weight is computed from `weight_orig` before each forward (here a copy: the identity map). */
class ComputedWeight extends Layer<Saved & { inner: Saved; weight: Tensor }> {
  readonly kind = 'ComputedWeight';
  private current?: { weight: Tensor; grad: Tensor };
  constructor(readonly inner: Linear) {
    super();
  }

  override paramSpecs(): TensorSpec[] {
    return this.inner.paramSpecs().map((s) => (s.name === 'weight' ? { ...s, name: 'weight_orig' } : s));
  }

  override bind(source: TensorSource): void {
    super.bind(source);
    const own = (n: string) => n === `${this.prefix}weight`;
    this.inner.prefix = this.prefix;
    this.inner.bind({
      param: (n) => (own(n) ? this.current!.weight : source.param(n)),
      grad: (n) => (own(n) ? this.current!.grad : source.grad(n)),
      state: (n) => source.state(n),
    });
  }

  outputShape(input: readonly number[]): number[] {
    return this.inner.outputShape(input);
  }

  async forward(plan: PlanBuilder, x: Tensor, o: ForwardOptions) {
    const orig = this.param('weight_orig');
    this.current = { weight: plan.tensor(`${this.prefix}weight`, orig.shape), grad: plan.tensor(`${this.prefix}weight grad`, orig.shape) };
    await copyInto(plan, orig, this.current.weight, 0);
    const inner = await this.inner.forward(plan, x, o);
    return { x, y: inner.y, inner, weight: this.current.weight };
  }

  async backward(plan: PlanBuilder, saved: Saved & { inner: Saved }, dy: Tensor, o: BackwardOptions) {
    const dx = await this.inner.backward(plan, saved.inner, dy, o);
    if (o.paramGrads) await copyInto(plan, this.current!.grad, this.grad('weight_orig'), 0);
    return dx;
  }
}

async function pass(gpu: Gpu, model: Sequential, input: number[], values: (name: string) => Float32Array, fuse: boolean) {
  model.allocate(gpu);
  for (const s of model.namedParamSpecs()) gpu.write(model.params.view('param', s.name), values(s.name));
  const plan = new PlanBuilder(gpu, { fuse });
  const x = gpu.tensor('x', input, 'f32', hashTensor({ shape: input, salt: 1, scale: 1, offset: 0 }));
  const saved = await model.forward(plan, x, { training: true });
  const dy = gpu.tensor('dy', [...saved.y.shape], 'f32', hashTensor({ shape: [...saved.y.shape], salt: 2, scale: 1, offset: 0 }));
  const dx = await model.backward(plan, saved, dy, { needDx: true, accumulate: false, paramGrads: true });
  gpu.run(plan.dispatches);
  const grads = new Map<string, number[]>();
  for (const s of model.namedParamSpecs()) grads.set(s.name, Array.from((await gpu.read(model.params.view('grad', s.name))) as Float32Array));
  const out = { y: Array.from((await gpu.read(saved.y)) as Float32Array), dx: Array.from((await gpu.read(dx!)) as Float32Array), grads };
  model.params.destroy();
  model.state.destroy();
  return out;
}

/** Values by the flat model's names, hashed from the name, so both models start equal. */
const valuesFor = (shapes: Map<string, number[]>) => (name: string) =>
  hashTensor({ shape: shapes.get(name)!, salt: [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 1000, 7), scale: 0.3, offset: 0 });

describe('composite layers: names', () => {
  it('a Sequential inside a Sequential names its tensors as nn.Sequential(Linear, nn.Sequential(BatchNorm1d, ReLU), Linear) does', () => {
    const model = new Sequential('m', [new Linear(8, 16), new Sequential('block', [new BatchNorm1d(16), ReLU()]), new Linear(16, 4)]);
    expect(model.namedParamSpecs().map((s) => s.name)).toEqual(['model.0.weight', 'model.0.bias', 'model.1.0.weight', 'model.1.0.bias', 'model.2.weight', 'model.2.bias']);
    expect(model.namedStateSpecs().map((s) => s.name)).toEqual(['model.1.0.running_mean', 'model.1.0.running_var']);
  });

  it('a weight wrapper declares weight_orig in its layer\'s place, as a module under torch.nn.utils.spectral_norm does', () => {
    const model = new Sequential('m', [new ComputedWeight(new Linear(8, 4))]);
    expect(model.namedParamSpecs().map((s) => s.name)).toEqual(['model.0.weight_orig', 'model.0.bias']);
  });
});

describe.each(TEST_BACKENDS)('composite layers on %s', (backend) => {
  const gpu = useGpu(backend);
  const flat = () => new Sequential('flat', [new Linear(8, 16), new BatchNorm1d(16), ReLU(), new Linear(16, 4)]);
  const shapes = new Map(flat().namedParamSpecs().map((s) => [s.name, s.shape]));
  const values = valuesFor(shapes);

  it('nested: forward, dx and every gradient bit-identical to the flat model without fusion', async () => {
    const rename = (n: string) => n.replace('model.1.0.', 'model.1.').replace('model.2.', 'model.3.');
    const nested = new Sequential('nested', [new Linear(8, 16), new Sequential('block', [new BatchNorm1d(16), ReLU()]), new Linear(16, 4)]);
    const a = await pass(gpu(), flat(), [8, 8], values, false);
    const b = await pass(gpu(), nested, [8, 8], (n) => values(rename(n)), false);
    expect(b.y).toEqual(a.y);
    expect(b.dx).toEqual(a.dx);
    for (const [name, g] of b.grads) expect(g, name).toEqual(a.grads.get(rename(name)));
  });

  it('a weight computed before the forward: outputs and gradients bit-identical to the plain layer', async () => {
    const plain = new Sequential('plain', [new Linear(8, 4)]);
    const wrapped = new Sequential('wrapped', [new ComputedWeight(new Linear(8, 4))]);
    const single = new Map(plain.namedParamSpecs().map((s) => [s.name, s.shape]));
    const v = valuesFor(single);
    const a = await pass(gpu(), plain, [8, 8], v, true);
    const b = await pass(gpu(), wrapped, [8, 8], (n) => v(n.replace('weight_orig', 'weight')), true);
    expect(b.y).toEqual(a.y);
    expect(b.dx).toEqual(a.dx);
    expect(b.grads.get('model.0.weight_orig')).toEqual(a.grads.get('model.0.weight'));
    expect(b.grads.get('model.0.bias')).toEqual(a.grads.get('model.0.bias'));
  });
});
