/**
 * Every op, forward and backward, against PyTorch (test/fixtures/ops.safetensors, written by
 * scripts/fixtures/ops_fixture.py in float64). Inputs are regenerated from the integer hash the
 * fixture lists; outputs and gradients are compared with the tolerances below.
 */
import { describe, expect, it } from 'vitest';
import { Adam } from '../src/backprop/adam.js';
import { lossAgainst, softmaxCrossEntropy } from '../src/backprop/loss.js';
import { BCE, BCE_LOGITS } from '../src/shaders/loss.js';
import type { Gpu } from '../src/gpu/gpu.js';
import { Arena, PARAM_ROLES } from '../src/layers/arena.js';
import { Pointwise } from '../src/layers/activation.js';
import { BatchNorm } from '../src/layers/batchnorm.js';
import { ConvTranspose2d } from '../src/layers/conv-transpose2d.js';
import { Conv2d } from '../src/layers/conv2d.js';
import type { Layer } from '../src/layers/layer.js';
import { type ConvPath, PlanBuilder } from '../src/layers/plan.js';
import { Linear } from '../src/layers/linear.js';
import { Sequential } from '../src/layers/sequential.js';
import { batchInnermost } from '../src/layers/ops.js';
import type { Activation } from '../src/shaders/activation.js';
import { MATMUL_VARIANTS } from '../src/shaders/matmul.js';
import { CHANNEL_STRATEGIES, type ChannelStrategy } from '../src/shaders/reduce.js';
import { QUICK_CONV_GPU } from '../src/layers/matmul-tuner.js';
import { compareClose, type Tolerance } from './helpers/compare.js';
import { loadFixture } from './helpers/fixtures.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';
import { hashTensor, type HashSpec } from './helpers/hashdata.js';

interface Case {
  name: string;
  op: string;
  config: Record<string, number | boolean | string>;
  inputs: Record<string, HashSpec | 'stored'>;
}

const fixture = loadFixture('ops');
const cases: Case[] = JSON.parse(fixture.metadata.cases!);
const ref = (c: Case, key: string) => fixture.values(`${c.name}.${key}`) as Float32Array;
const input = (c: Case, key: string) => {
  const s = c.inputs[key];
  if (!s) throw new Error(`${c.name}: no input ${key}`);
  return s === 'stored' ? ref(c, key) : hashTensor(s);
};

/**
 * Tolerances (float32 against float64 references; float32 epsilon is 6e-8):
 * - matmul-based ops sum up to K = 12544 products; float32 accumulation error grows like
 *   sqrt(K) * eps relative to the terms (7e-6) and K * eps in the worst case (7.5e-4).
 *   rtol 2e-4 with a floor of 1e-2 x max|ref| for cancelling sums.
 * - batch norm: statistics over up to 12544 values, then normalisation; the backward formula
 *   subtracts nearly equal sums, so the floor matters: rtol 1e-4, floor 1e-2.
 * - pointwise ops: one or two transcendental calls (a few ulp), and backward from the float32
 *   output as PyTorch does: near saturation y is within an ulp of 1 (6e-8), so 1 - y^2 and
 *   y (1 - y) carry ~1.2e-7 absolute error: rtol 1e-5 with a floor of 5e-2 x max|ref|
 *   (an absolute ~5e-7 for outputs of size 1).
 * - losses: a mean of 67 logs: rtol 1e-5, floor 1e-5.
 * - Adam: per element, a handful of float32 operations against PyTorch's own float32:
 *   rtol 1e-6, floor 1e-6 (a few ulp).
 */
const TOL: Record<string, Tolerance> = {
  matmul: { rtol: 2e-4, floor: 1e-2 },
  batchnorm: { rtol: 1e-4, floor: 1e-2 },
  pointwise: { rtol: 1e-5, floor: 5e-2 },
  loss: { rtol: 1e-5, floor: 1e-5 },
  adam: { rtol: 1e-6, floor: 1e-6 },
};

function layerFor(c: Case): Layer {
  const k = c.config as Record<string, number>;
  switch (c.op) {
    case 'linear':
      return new Linear(k.in!, k.out!);
    case 'conv2d':
      return new Conv2d(k.in!, k.out!, k.k!, k.s!, k.p!);
    case 'conv_transpose2d':
      return new ConvTranspose2d(k.in!, k.out!, k.k!, k.s!, k.p!);
    case 'batchnorm':
      return new BatchNorm(k.features!, k.dims as 1 | 2, k.eps, k.momentum);
    case 'activation':
      return new Pointwise(String(c.config.op), c.config.op as Activation, Number(c.config.slope));
    default:
      throw new Error(`no layer for ${c.op}`);
  }
}

interface Run {
  matmul: string;
  conv: ConvPath;
  channels?: ChannelStrategy;
  convBlock?: string;
  /** The forward alone, as inference runs it (no col to share with a weight gradient). */
  inference?: boolean;
}

async function runLayerCase(gpu: Gpu, c: Case, { matmul, conv, channels, convBlock, inference }: Run): Promise<Map<string, Float32Array>> {
  const layer = layerFor(c);
  const model = new Sequential(c.name, [layer]).allocate(gpu);
  for (const name of ['weight', 'bias']) {
    if (c.inputs[name]) gpu.write(model.params.view('param', `model.0.${name}`), input(c, name));
  }
  for (const name of ['running_mean', 'running_var']) {
    if (c.inputs[name]) gpu.write(model.state.view('state', `model.0.${name}`), input(c, name));
  }
  const xSpec = c.inputs.x as HashSpec;
  const x = gpu.tensor('x', xSpec.shape, 'f32', input(c, 'x'));
  const dy = gpu.tensor('dy', (c.inputs.dy as HashSpec).shape, 'f32', input(c, 'dy'));
  const plan = new PlanBuilder(gpu, { matmul, conv, ...(channels ? { channels } : {}), ...(convBlock ? { convBlock } : {}) });
  const training = c.config.training !== false && !inference;
  const saved = await model.forward(plan, x, { training });
  const { y } = saved;
  const out = new Map<string, Float32Array>();
  const dx = training ? await model.backward(plan, saved, dy, { needDx: true, accumulate: false, paramGrads: true }) : null;
  gpu.run(plan.dispatches);
  out.set('y', (await gpu.read(y)) as Float32Array);
  if (dx) out.set('dx', (await gpu.read(dx)) as Float32Array);
  for (const s of layer.paramSpecs()) {
    if (training) out.set(`${s.name}.grad`, (await gpu.read(model.params.view('grad', `model.0.${s.name}`))) as Float32Array);
  }
  for (const s of layer.stateSpecs()) out.set(s.name, (await gpu.read(model.state.view('state', `model.0.${s.name}`))) as Float32Array);
  return out;
}

function tolFor(op: string): Tolerance {
  if (op === 'batchnorm') return TOL.batchnorm!;
  if (op === 'activation') return TOL.pointwise!;
  return TOL.matmul!;
}

describe.each(TEST_BACKENDS)('ops against PyTorch on %s', (backend) => {
  const gpu = useGpu(backend);

  const layerCases = cases.filter((c) => ['linear', 'conv2d', 'conv_transpose2d', 'batchnorm', 'activation'].includes(c.op));
  // One variant of each kernel structure (test/matmul.test.ts checks every variant at every
  // layout, epilogue and edge shape; step.test.ts runs the fixed table's register blocks); a
  // named variant that does not fit a shape falls back to naive. Convolutions run each through
  // the explicit path (im2col/col2im + that matmul) and once as implicit GEMMs, forced even
  // where `auto` would not pick them (thin and odd shapes: k % s != 0, stride 3, K not a
  // multiple of 4).
  const STRUCTURES = ['naive', 'dot_wg64', 'vec4_8x8', 'tiled_4x4', 'splitk_4x4'];
  const isConv = (c: Case) => c.op === 'conv2d' || c.op === 'conv_transpose2d';
  // Per-channel kernels (BatchNorm, convolutions' bias sums) also run in each strategy, forced:
  // `auto` is the adapter's rule, so a CPU adapter alone would never run the GPUs' `workgroup`.
  // Likewise the implicit convolutions run in each register block GPUs race (the CPU adapters'
  // fixed choice is the `auto` run), at the DCGAN's shapes (the odd shapes' ragged edges are the
  // fixed blocks' above, from the same generator) on gles; not on SwiftShader, whose compiler
  // takes seconds per block and geometry for the same WGSL.
  const dcganSized = (c: Case) => c.name.includes('dcgan');
  const gpuBlocks = (c: Case) => backend !== 'swiftshader' && dcganSized(c);
  // The matmul structures on SwiftShader run on the small, odd cases only: gles runs the same
  // WGSL on the DCGAN-sized ones, where SwiftShader spends minutes on dot_wg64's 64-invocation
  // workgroups and the tiles' barriers for no route it takes by itself (its `auto` runs below).
  const structures = (c: Case) => backend !== 'swiftshader' || !dcganSized(c);
  const runsFor = (c: Case): Run[] => {
    if (isConv(c)) {
      return [
        ...(structures(c) ? STRUCTURES : []).map((matmul): Run => ({ matmul, conv: 'explicit' })),
        { matmul: 'auto', conv: 'implicit' },
        // On the CPU adapters `auto` runs the weight gradient through im2col where K allows (conv-route.ts, weightViaCol).
        { matmul: 'auto', conv: 'auto' },
        // ... and on llvmpipe, at batches that are multiples of 4, the forward and transposed forms read a batch-innermost B (ops.ts, batchInnerB).
        ...(backend === 'gles' ? [{ matmul: 'auto', conv: 'auto', inference: true } as Run] : []),
        ...CHANNEL_STRATEGIES.map((channels): Run => ({ matmul: 'auto', conv: 'implicit', channels })),
        ...(gpuBlocks(c) ? QUICK_CONV_GPU.map((b): Run => ({ matmul: 'auto', conv: 'implicit', convBlock: `conv_${b}` })) : []),
      ];
    }
    if (c.op === 'batchnorm') return [{ matmul: 'auto', conv: 'auto' }, ...CHANNEL_STRATEGIES.map((channels): Run => ({ matmul: 'auto', conv: 'auto', channels }))];
    return (c.op === 'linear' && structures(c) ? STRUCTURES : ['auto']).map((matmul): Run => ({ matmul, conv: 'auto' }));
  };
  const title = (c: Case, r: Run) =>
    `${isConv(c) ? (r.conv === 'implicit' ? `implicit GEMM${r.convBlock ? ` ${r.convBlock}` : ''}` : r.conv === 'auto' ? 'conv auto' : `explicit, matmul ${r.matmul}`) : `matmul ${r.matmul}`}${r.channels ? `, channels by ${r.channels}` : ''}${r.inference ? ', inference forward' : ''}`;
  for (const c of layerCases) {
    for (const r of runsFor(c)) {
      it(`${c.name} (${title(c, r)}): forward${r.inference ? '' : ' and every gradient'}`, async () => {
        const got = await runLayerCase(gpu(), c, r);
        const keys = [...got.keys()];
        expect(keys.length).toBeGreaterThan(0);
        for (const key of keys) {
          const message = compareClose(got.get(key)!, ref(c, key), tolFor(c.op));
          expect(message, `${c.name} ${key}`).toBeNull();
        }
        if (c.config.training !== false && !r.inference && c.op !== 'activation') expect(keys).toContain('weight.grad');
      }, 300_000); // the first case of a layer compiles its kernels: up to 200 s on llvmpipe on a loaded 2-core machine (conv_dcgan_d2, conv auto)
    }
  }

  // The fixtures' 3000 values take the vec4 form (pointwiseWidth); their first 2999 the form
  // with a value per invocation, against the same reference values.
  for (const c of cases.filter((c) => c.op === 'activation')) {
    it(`${c.name}, 2999 values (a value per invocation): forward and gradient`, async () => {
      const g = gpu();
      const n = 2999;
      const model = new Sequential(c.name, [layerFor(c)]).allocate(g);
      const x = g.tensor('x', [n], 'f32', input(c, 'x').subarray(0, n));
      const dy = g.tensor('dy', [n], 'f32', input(c, 'dy').subarray(0, n));
      const plan = new PlanBuilder(g);
      const saved = await model.forward(plan, x, { training: true });
      const { y } = saved;
      const dx = (await model.backward(plan, saved, dy, { needDx: true, accumulate: false, paramGrads: true }))!;
      expect(plan.dispatches.map((d) => d.kernel).every((k) => !k.endsWith('.vec4'))).toBe(true);
      g.run(plan.dispatches);
      expect(compareClose((await g.read(y)) as Float32Array, ref(c, 'y').subarray(0, n), TOL.pointwise!), `${c.name} y`).toBeNull();
      expect(compareClose((await g.read(dx)) as Float32Array, ref(c, 'dx').subarray(0, n), TOL.pointwise!), `${c.name} dx`).toBeNull();
    });
  }

  for (const c of cases.filter((c) => c.op === 'bce' || c.op === 'bce_logits')) {
    it(`${c.name}: loss and gradient`, async () => {
      const g = gpu();
      const key = c.op === 'bce' ? 'p' : 'x';
      const values = input(c, key);
      const x = g.tensor(key, [values.length], 'f32', values);
      const plan = new PlanBuilder(g);
      const { grad, stats } = await lossAgainst(plan, { bce: BCE, bce_logits: BCE_LOGITS }[c.op as 'bce' | 'bce_logits'], x, Number(c.config.target), c.name);
      g.run(plan.dispatches);
      const s = (await g.read(stats)) as Float32Array;
      expect(compareClose([s[0]!], ref(c, 'loss'), TOL.loss!), `${c.name} loss`).toBeNull();
      // The clamped ends produce gradients of 1e12: relative comparison handles them. With a
      // smoothed target (0 < t < 1) the gradient sigmoid(x) - t cancels where sigmoid(x) ~ t: its
      // error is then a few float32 ulps of the terms, whose scale is max|grad| (floor 1e-2).
      const smoothed = Number(c.config.target) > 0 && Number(c.config.target) < 1;
      const tol = smoothed ? { ...TOL.loss!, floor: 1e-2 } : TOL.loss!;
      expect(compareClose((await g.read(grad)) as Float32Array, ref(c, 'dx'), tol), `${c.name} grad`).toBeNull();
    });
  }

  for (const c of cases.filter((c) => c.op === 'softmax_ce')) {
    it(`${c.name}: loss, gradient and accuracy (the evaluator's classifier loss)`, async () => {
      const g = gpu();
      const x = input(c, 'x');
      const logits = g.tensor('logits', [Number(c.config.n), Number(c.config.classes)], 'f32', x);
      const labels = g.tensor('labels', [Number(c.config.n)], 'f32', input(c, 'labels'));
      const plan = new PlanBuilder(g);
      const { grad, stats } = await softmaxCrossEntropy(plan, logits, labels, c.name);
      g.run(plan.dispatches);
      const s = (await g.read(stats)) as Float32Array;
      expect(compareClose([s[0]!], ref(c, 'loss'), TOL.loss!), `${c.name} loss`).toBeNull();
      expect(s[1]).toBeCloseTo(ref(c, 'accuracy')[0]!, 6); // a float32 mean of 0/1 against float64
      expect(compareClose((await g.read(grad)) as Float32Array, ref(c, 'dx'), TOL.loss!), `${c.name} grad`).toBeNull();
    });
  }

  for (const c of cases.filter((c) => c.op === 'adam')) {
    it(`${c.name}: ${c.config.steps} steps match PyTorch's parameters and moments`, async () => {
      const g = gpu();
      const p0 = input(c, 'param');
      const arena = new Arena(g, c.name, [{ name: 'w', shape: [p0.length] }], PARAM_ROLES);
      g.write(arena.view('param', 'w'), p0);
      const h = c.config as Record<string, number>;
      const adam = await Adam.create(g, arena, { lr: h.lr!, beta1: h.beta1!, beta2: h.beta2!, eps: h.eps!, weightDecay: 0 });
      for (let step = 0; step < h.steps!; step++) {
        g.write(arena.view('grad', 'w'), input(c, `grad${step}`));
        adam.nextStep();
        g.run(adam.dispatches);
      }
      const read = async (role: 'param' | 'adam_m' | 'adam_v') => (await g.read(arena.view(role, 'w'))) as Float32Array;
      expect(compareClose(await read('param'), ref(c, 'param'), TOL.adam!), 'param').toBeNull();
      expect(compareClose(await read('adam_m'), ref(c, 'exp_avg'), TOL.adam!), 'exp_avg').toBeNull();
      expect(compareClose(await read('adam_v'), ref(c, 'exp_avg_sq'), TOL.adam!), 'exp_avg_sq').toBeNull();
      // Arena padding stays untouched.
      const all = (await g.read(arena.all('param'))) as Float32Array;
      expect(all.subarray(p0.length).every((v) => v === 0)).toBe(true);
      arena.destroy();
    });
  }
});

describe('ops: clear errors', () => {
  const gpu = useGpu(TEST_BACKENDS[0]!);
  it('BatchNorm in training mode with one value per channel fails like PyTorch', async () => {
    const model = new Sequential('bn', [new BatchNorm(3, 1)]).allocate(gpu());
    const x = gpu().tensor('x', [1, 3]);
    await expect(model.forward(new PlanBuilder(gpu()), x, { training: true })).rejects.toThrow(
      'model.0.BatchNorm1d: expected more than 1 value per channel when training, got input size [1, 3]',
    );
    // Eval mode is fine with a batch of one.
    const evalPass = await model.forward(new PlanBuilder(gpu()), x, { training: false });
    expect(evalPass.y.shape).toEqual([1, 3]);
    expect(evalPass.tape).toHaveLength(1);
  });

  it('a layer given the wrong input shape names the layer and both shapes', async () => {
    const model = new Sequential('m', [new Linear(4, 2)]).allocate(gpu());
    await expect(model.forward(new PlanBuilder(gpu()), gpu().tensor('x', [3, 5]), { training: true })).rejects.toThrow(
      'model.0.Linear input: expected shape [3, 4], found [3, 5]',
    );
  });

  it('an unknown matmul variant is an error listing the variants', async () => {
    const model = new Sequential('m', [new Linear(4, 4)]).allocate(gpu());
    await expect(model.forward(new PlanBuilder(gpu(), { matmul: 'fast' }), gpu().tensor('x', [4, 4]), { training: true })).rejects.toThrow(
      `matmul variant: expected auto or one of ${MATMUL_VARIANTS.join(', ')}, found "fast"`,
    );
  });
});

describe('conv weight gradients through im2col', () => {
  // `auto` on a CPU adapter, at a batch that is not a multiple of 4 (else batch-innermost
  // operands, below): dW = grid col(image)^T where K (the batch's pixels) is a multiple of 4,
  // else the implicit weight kernel; `implicit` always the kernel. Numerics: the PyTorch cases above.
  const gpu = useGpu(TEST_BACKENDS.at(-1)!);
  const kernels = async (conv: ConvPath, batch: number, size: number, width = size) => {
    const g = gpu();
    const model = new Sequential('m', [new Conv2d(4, 8, 4, 2, 1), new ConvTranspose2d(8, 4, 4, 2, 1)]).allocate(g);
    const plan = new PlanBuilder(g, { conv, matmul: 'auto' });
    const saved = await model.forward(plan, g.tensor('x', [batch, 4, size, width]), { training: true });
    const { y } = saved;
    await model.backward(plan, saved, g.tensor('dy', [...y.shape]), { needDx: true, accumulate: false, paramGrads: true });
    return plan.dispatches.map((d) => d.kernel.split(' ')[0]!);
  };
  it('auto: im2col and an A B^T GEMM, no implicit weight kernel; the grid read in place when Ho Wo is a multiple of 4', async () => {
    // 8x8 -> 4x4: Conv2d's grid (dy, 4x4) is read in place, ConvTranspose2d's (its input, 4x4) too.
    const k = await kernels('auto', 2, 8);
    expect(k.filter((n) => n === 'conv.im2col')).toHaveLength(2);
    expect(k.filter((n) => n.startsWith('conv_gemm.weight'))).toHaveLength(0);
    expect(k.filter((n) => n.startsWith('conv_gemm.pack_weight'))).toHaveLength(0);
    expect(k.filter((n) => /^matmul\.[^.]+\.NT/.test(n))).toHaveLength(2);
  });
  it('auto: the grid permuted to [G, N Ho Wo] when Ho Wo is not a multiple of 4; the implicit kernel when K is not a multiple of 4', async () => {
    // 6x12 -> 3x6 at batch 2: K = 36, the grids (Ho Wo = 18) permuted. At batch 3 (10x10 -> 5x5): K = 75, the implicit kernel.
    const k2 = await kernels('auto', 2, 6, 12);
    expect(k2.filter((n) => n === 'conv.im2col')).toHaveLength(2);
    expect(k2.filter((n) => n === 'conv.nchw_to_cn')).toHaveLength(2);
    expect(k2.filter((n) => n === 'conv_gemm.pack_weight')).toHaveLength(0);
    const k3 = await kernels('auto', 3, 10);
    expect(k3.filter((n) => n === 'conv.im2col')).toHaveLength(0);
    expect(k3.filter((n) => n.startsWith('conv_gemm.weight'))).toHaveLength(2);
  });
  it("auto on llvmpipe: the col also carries Conv2d's forward and ConvTranspose2d's dx as GEMMs, one col per layer", async () => {
    // SwiftShader keeps its implicit forward-form kernels (conv-route.ts, colCarriesForward).
    const onCol = !gpu().isSwiftShader;
    const k = await kernels('auto', 2, 8);
    expect(k.filter((n) => n === 'conv.im2col')).toHaveLength(2);
    expect(k.filter((n) => n.startsWith('conv_gemm.forward'))).toHaveLength(onCol ? 0 : 2);
    expect(k.filter((n) => /^matmul\.[^.]+\.NN\..*nchw16/.test(n))).toHaveLength(onCol ? 2 : 0);
    // Inference makes no col: Conv2d's forward stays the implicit kernel.
    const g = gpu();
    const model = new Sequential('m', [new Conv2d(4, 8, 4, 2, 1)]).allocate(g);
    const plan = new PlanBuilder(g, { conv: 'auto', matmul: 'auto' });
    await model.forward(plan, g.tensor('x', [2, 4, 8, 8]), { training: false });
    const inference = plan.dispatches.map((d) => d.kernel.split(' ')[0]!);
    expect(inference).toHaveLength(1);
    expect(inference[0]).toMatch(/^conv_gemm\.forward\./);
  });
  it('implicit: the implicit weight kernel', async () => {
    const k = await kernels('implicit', 2, 8);
    expect(k.filter((n) => n === 'conv.im2col')).toHaveLength(0);
    expect(k.filter((n) => n.startsWith('conv_gemm.weight'))).toHaveLength(2);
  });
});

describe.each(TEST_BACKENDS)('batch-innermost operands on %s', (backend) => {
  // `auto` on llvmpipe, batch a multiple of 4: a convolution's image and grid copied to
  // [C, H, W, N] and read as vec4s along the batch (conv-route.ts, batchInnerForms). The forward and
  // transposed forms add the same products in the same order of k as the NCHW kernels, so they
  // agree to float rounding (1e-6 relative: the compiler may contract differently); the weight
  // form sums K in another order (pixel-major, not batch-major), whose rounding differs by about
  // sqrt(K) u times the partial sums' size (14 x 6e-8 x the tensor's scale at K = 200): 1e-5
  // relative with a floor of 10% of the tensor's scale. A wrong tap or mask errs by the values
  // themselves. PyTorch's numbers: the `conv auto` cases above at batch 4. On SwiftShader the
  // weight form alone reads the copies (its dot-form NCHW kernels win the other two).
  const gpu = useGpu(backend);
  // 9x9 -> 5x5 (k3 s2 p1): padding on every side, and phases of ConvTranspose2d with unequal pixel counts.
  const run = async (conv: ConvPath, batch: number, training: boolean) => {
    const g = gpu();
    const model = new Sequential('m', [new Conv2d(4, 8, 3, 2, 1), new ConvTranspose2d(8, 4, 3, 2, 1)]).allocate(g);
    const n = model.params.all('param').size;
    g.write(model.params.all('param'), Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)));
    const xs = batch * 4 * 81;
    const x = g.tensor('x', [batch, 4, 9, 9], 'f32', Float32Array.from({ length: xs }, (_, i) => Math.cos(i * 0.11)));
    const plan = new PlanBuilder(g, { conv, matmul: 'auto' });
    const saved = await model.forward(plan, x, { training });
    const { y } = saved;
    const dy = g.tensor('dy', [...y.shape], 'f32', Float32Array.from({ length: y.size }, (_, i) => Math.sin(i * 0.23)));
    const dx = training ? await model.backward(plan, saved, dy, { needDx: true, accumulate: false, paramGrads: true }) : null;
    g.run(plan.dispatches);
    const kernels = plan.dispatches.map((d) => d.kernel.split(' ')[0]!);
    const grads = training ? await Promise.all(['model.0.weight', 'model.1.weight'].map(async (w) => (await g.read(model.params.view('grad', w))) as Float32Array)) : null;
    return { kernels, y: (await g.read(y)) as Float32Array, dx: dx ? ((await g.read(dx)) as Float32Array) : null, grads };
  };
  for (const training of [true, false]) {
    it(`${training ? 'training' : 'inference'}: the same values as the NCHW kernels at batch 8, no col; NCHW at batch 6`, async () => {
      const onLlvmpipe = !gpu().isSwiftShader;
      const [auto, nchw] = [await run('auto', 8, training), await run('implicit', 8, training)];
      const count = (re: RegExp) => auto.kernels.filter((k) => re.test(k)).length;
      // llvmpipe: in training every product of both layers, in inference both forwards. SwiftShader:
      // the weight gradients. One copy of x per layer where a product reads it, and of dy in training.
      expect(count(/^conv_gemm\.(forward|transposed)\.[^ ]*\.chwn/)).toBe(onLlvmpipe ? (training ? 4 : 2) : 0);
      expect(count(/^conv_gemm\.weight\.[^ ]*\.chwn/)).toBe(training ? 2 : 0);
      expect(count(/^conv\.nchw_to_chwn(\.vec4)?$/)).toBe(training ? 4 : onLlvmpipe ? 2 : 0);
      if (training) expect(count(/^conv\.im2col$|^conv_gemm\.pack_weight$/)).toBe(0);
      expect(compareClose(auto.y, nchw.y, { rtol: 1e-6, floor: 1e-6 }), 'y').toBeNull();
      if (training) {
        expect(compareClose(auto.dx!, nchw.dx!, { rtol: 1e-6, floor: 1e-6 }), 'dx').toBeNull();
        auto.grads!.forEach((dW, i) => expect(compareClose(dW, nchw.grads![i]!, { rtol: 1e-5, floor: 0.1 }), `layer ${i} weight gradient`).toBeNull());
      }
      const six = await run('auto', 6, training);
      expect(six.kernels.filter((k) => k.includes('chwn'))).toHaveLength(0);
    });
  }
  it('the copy [N, C, H, W] -> [C, H, W, N]: HW a multiple of 4 (vec4 loads) or not', async () => {
    if (backend !== TEST_BACKENDS.at(-1)) return; // one adapter is enough for a copy
    const g = gpu();
    for (const [N, C, H, W] of [[8, 3, 4, 5], [4, 2, 3, 3]] as const) {
      const src = Float32Array.from({ length: N * C * H * W }, (_, i) => i + 0.5);
      const x = g.tensor('x', [N, C, H, W], 'f32', src);
      const plan = new PlanBuilder(g);
      const t = await batchInnermost(plan, x, 'x chwn');
      expect(plan.dispatches.map((d) => d.kernel.split(' ')[0])).toEqual([(H * W) % 4 === 0 ? 'conv.nchw_to_chwn.vec4' : 'conv.nchw_to_chwn']);
      g.run(plan.dispatches);
      const got = (await g.read(t)) as Float32Array;
      const want = new Float32Array(src.length);
      for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) want[(c * H * W + p) * N + n] = src[(n * C + c) * H * W + p]!;
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });
});

describe('implicit conv GEMMs across batch sizes', () => {
  // The batch-dependent GEMM sizes are a uniform (src/shaders/conv-gemm.ts), so a second batch
  // size compiles nothing new: the trainer's merged D pass (2B), D's pass for G's step (B), the
  // short last batch and the sampler all share one pipeline per kernel. Numerics at each batch
  // are the PyTorch cases' above (conv_odd: a weight-form K of 189, not a multiple of 4).
  const gpu = useGpu(TEST_BACKENDS.at(-1)!);
  it('one pipeline per kernel serves every batch size', async () => {
    const g = gpu();
    const model = new Sequential('m', [new Conv2d(4, 8, 4, 2, 1), new ConvTranspose2d(8, 4, 4, 2, 1)]).allocate(g);
    const pipelines = async (batch: number) => {
      const plan = new PlanBuilder(g, { conv: 'implicit' });
      const saved = await model.forward(plan, g.tensor('x', [batch, 4, 10, 10]), { training: true });
      const { y } = saved;
      await model.backward(plan, saved, g.tensor('dy', [...y.shape]), { needDx: true, accumulate: false, paramGrads: true });
      return plan.dispatches.filter((d) => d.kernel.startsWith('conv_gemm')).map((d) => d.pipeline);
    };
    const [three, five] = [await pipelines(3), await pipelines(5)];
    // Per layer: 1 GEMM + its pack for each of the forward, weight and dx products, but for the
    // products whose A is the weights as they are (Conv2d's forward, ConvTranspose2d's dx).
    expect(three.length).toBe(10);
    expect(five.length).toBe(three.length);
    five.forEach((p, i) => expect(p, `conv GEMM dispatch ${i}`).toBe(three[i]));
  });
});
