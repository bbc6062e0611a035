/**
 * One training step of the reference loop as a fixed list of dispatches, built once per batch
 * size and replayed: gather the real batch and draw z (the inputs), then
 *   G forward -> D(real), BCE(., 1) -> D(fake), BCE(., 0) -> D backward twice (accumulating:
 *   d_loss = real + fake) -> Adam(D) -> D(fake) with the updated D, BCE(., 1) -> D backward for
 *   dx only (D's weight gradients would be discarded: PyTorch computes them needlessly) ->
 *   G backward -> Adam(G)
 * and a finite check of the three losses. Every D forward has its own batch statistics, like the
 * reference; D(real) and D(fake) run as one pass over both halves of one batch (dPasses), with
 * BatchNorm's statistics per half. One command buffer, one submit per step.
 *
 * Conditional (StepModels.conditional): the batch's labels are gathered with its images, G's
 * input is [z, onehot(y)] and each loss is the head's (src/shaders/conditional.ts). G draws the
 * real batch's classes, so D's real and fake halves carry the same labels and the classes G
 * learns follow the data's own frequencies.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { type ConvPath, PlanBuilder } from '../layers/plan.js';
import type { Sequential } from '../layers/sequential.js';
import type { MatmulTuner } from '../layers/matmul-tuner.js';
import type { ActivationArena, TensorAllocator } from '../layers/activation-arena.js';
import type { LossOutput } from '../backprop/loss.js';
import { concatOneHotProgram } from '../shaders/conditional.js';
import { augment, augmentBackward, copyInto } from '../layers/ops.js';
import { DRAWS_PER_IMAGE, type Augment } from '../shaders/augment.js';
import { DOMAIN } from '../random/philox.js';
import type { GpuDataset } from '../data/dataset.js';
import { NormalNoise } from '../random/noise.js';
import { finiteCheckProgram } from '../shaders/finite.js';
import type { DPasses } from '../model/limits.js';
import type { Conditioning, GanLoss, TermInput } from './gan-loss.js';

export type { Conditioning } from './gan-loss.js';

/**
 * How a step's passes share batch statistics, as data: D's real and fake passes as one pass over
 * both halves (`merged`, each half its own statistics) or as two (`separate`, as the reference
 * writes it); then G's pass through the updated D.
 */
export interface StepSchedule {
  dPasses: DPasses;
}

/** The reference's step: one D update (merged passes), then one G update. */
export const REFERENCE_SCHEDULE: StepSchedule = { dPasses: 'merged' };

/**
 * Training-mode forward passes per step, as the BN counters (`num_batches_tracked`) count them:
 * G runs once; D three times (the real batch, the fake batch, the fake batch again for G's loss),
 * also when the first two run as one merged pass (two statistics groups).
 */
export const G_PASSES_PER_STEP = 1;
export const D_PASSES_PER_STEP = 3;


/** The step's finite check watches its three losses. */
const FINITE = finiteCheckProgram(3);
const CONCAT = concatOneHotProgram();

export interface StepModels {
  gpu: Gpu;
  G: Sequential;
  D: Sequential;
  /** Adam dispatches, one per model, prepared over each model's arena. */
  adamG: readonly Dispatch[];
  adamD: readonly Dispatch[];
  /** G's weight average, updated after each Adam(G) step (--ema); absent: none. */
  emaG?: readonly Dispatch[];
  /** u32 flag for the first step with a non-finite loss. */
  flag: GPUBuffer;
  latentDim: number;
  seed: number;
  /** D's and G's terms (src/train/gan-loss.ts), made for `conditional` when that is given. */
  loss: GanLoss;
  matmul?: string;
  tuner?: MatmulTuner;
  conv?: ConvPath;
  /** The order of the step's updates; default REFERENCE_SCHEDULE. */
  schedule?: StepSchedule;
  /** Where the plan's activations and gradients live (shared by the plans of every batch size); absent: a buffer each. */
  activations?: ActivationArena;
  /** Class-conditional G and D; absent: the reference's unconditional pair. */
  conditional?: Conditioning;
  /** DiffAugment's policies on every image D sees (src/shaders/augment.ts); absent or empty: none. */
  augment?: readonly Augment[];
}

/** What D sees of a batch: itself, or augmented with the draws' rows from `row` (D real 0, D fake batch, G's pass 2 batch). */
type Seen = (x: Tensor, row: number, name: string) => Promise<Tensor>;

/** A loss term's input on D's output `out` (named `name`, some rows of it). */
type TermOf = (out: Tensor, name: string, o?: Pick<TermInput, 'rows' | 'grad'>) => TermInput;

export class StepPlan {
  /** Gather + noise: what makes this step's inputs (a streamed data set's gather reads the current shard's buffer). */
  get inputs(): Dispatch[] {
    return this.inputsOf();
  }
  /** Everything else. */
  readonly step: Dispatch[];

  private constructor(
    private readonly m: StepModels,
    readonly batch: number,
    /** [batch, C, H, W]: the real images this step sees. */
    readonly real: Tensor,
    readonly z: Tensor,
    /** [batch] class indices (as f32) of the real batch, which G is asked for too; null: unconditional. */
    readonly labels: Tensor | null,
    readonly fake: Tensor,
    /** [loss, mean D output] for D(real), D(fake) before the update, D(fake) for G. */
    readonly statsReal: Tensor,
    readonly statsFake: Tensor,
    readonly statsG: Tensor,
    private readonly noise: NormalNoise,
    /** The augmentation's draws (D's 2 x batch rows, then G's batch rows), by step; null: no augmentation. */
    private readonly augmentNoise: NormalNoise | null,
    private readonly stepParams: GPUBuffer,
    private readonly inputsOf: () => Dispatch[],
    step: Dispatch[],
  ) {
    this.step = step;
  }

  static async build(m: StepModels, dataset: GpuDataset | null, batch: number): Promise<StepPlan> {
    if (!m.activations) return StepPlan.buildWith(m, dataset, batch);
    // The fake batch is read after the step (grids), so it lives to the end.
    return m.activations.build((alloc) => StepPlan.buildWith(m, dataset, batch, alloc), (p) => ({ dispatches: p.dispatchesFor(false), liveOut: [p.fake] }));
  }

  private static async buildWith(m: StepModels, dataset: GpuDataset | null, batch: number, alloc?: TensorAllocator): Promise<StepPlan> {
    const { gpu, G, D } = m;
    const plan = new PlanBuilder(gpu, { matmul: m.matmul, tuner: m.tuner, conv: m.conv, alloc });
    const real = dataset ? dataset.batch.rows(batch) : gpu.tensor('real batch', [batch, ...D.inputShape]);
    if (dataset && batch > dataset.batchSize) throw new Error(`step plan: batch ${batch} exceeds the data set's batch ${dataset.batchSize}`);
    const z = gpu.tensor(`z (batch ${batch})`, [batch, m.latentDim]);
    const noise = await NormalNoise.create(gpu, z, m.seed);
    const cond = m.conditional;
    if (cond && dataset && !dataset.labels) throw new Error('step plan: a conditional model needs a data set created with its labels');
    const labels = cond ? (dataset ? dataset.labels!.batch.rows(batch) : gpu.tensor(`labels (batch ${batch})`, [batch])) : null;
    const policy = m.augment ?? [];
    const draws = policy.length ? gpu.tensor(`augmentation draws (batch ${batch})`, [3 * batch * DRAWS_PER_IMAGE], 'u32') : null;
    const augmentNoise = draws ? await NormalNoise.create(gpu, draws, m.seed, 'bits', DOMAIN.augment) : null;
    const inputs = () => (dataset ? [dataset.gather, ...(cond ? [dataset.labels!.gather] : []), noise.dispatch] : [noise.dispatch]);
    // The augmentation's draws are the step's own work (a caller that writes the inputs still gets them).
    if (augmentNoise) plan.add(augmentNoise.dispatch);
    /** What D sees of `x`: x itself, or x augmented with the draws' rows from `row`. */
    const seen = (x: Tensor, row: number, name: string) => (draws ? augment(plan, policy, x, draws, row, label(`${name} augmented`)) : Promise.resolve(x));

    const label = (s: string) => `${s} (batch ${batch})`;
    const term: TermOf = (out, name, o = {}) => ({ plan, out, labels, label: label(name), ...o });
    let gInput = z;
    if (cond) {
      gInput = plan.tensor(label('G input (z, onehot(y))'), [batch, m.latentDim + cond.classes]);
      plan.add(await CONCAT.prepare(gpu, { rows: batch, latent: m.latentDim, classes: cond.classes }, { z, labels: labels!, out: gInput }));
    }
    const g = await G.forward(plan, gInput, { training: true });
    const { real: lossReal, fake: lossFake } = await StepPlan.dUpdate(plan, m, (m.schedule ?? REFERENCE_SCHEDULE).dPasses, real, g.y, term, seen);
    for (const d of m.adamD) plan.add(d);
    // Generator step, on the same fake batch, through the updated D (and back through the augmentation).
    const dG = await D.forward(plan, await seen(g.y, 2 * batch, 'G pass fake'), { training: true });
    const lossG = await m.loss.g(term(dG.y, 'G loss'));
    const dSeen = await D.backward(plan, dG, lossG.grad, { needDx: true, accumulate: false, paramGrads: false });
    const dFakeInput = draws ? await augmentBackward(plan, policy, dSeen!, draws, 2 * batch, label('G pass fake gradient (before augmentation)')) : dSeen!;
    await G.backward(plan, g, dFakeInput, { needDx: false, accumulate: false, paramGrads: true });
    for (const d of [...m.adamG, ...(m.emaG ?? [])]) plan.add(d);

    const stepParams = FINITE.uniform(gpu, { step: 0 }, label('step params'));
    plan.add(await FINITE.prepare(gpu, {}, { flag: m.flag, v0: lossReal.stats, v1: lossFake.stats, v2: lossG.stats }, { uniform: stepParams }));
    return new StepPlan(m, batch, real, z, labels, g.y, lossReal.stats, lossFake.stats, lossG.stats, noise, augmentNoise, stepParams, inputs, plan.dispatches);
  }

  /**
   * One D update's forward passes, losses and backward (its Adam dispatch is the caller's): D on
   * the real batch and on the fake batch, d_loss = real + fake accumulated in D's gradients.
   */
  private static async dUpdate(plan: PlanBuilder, m: StepModels, passes: DPasses, real: Tensor, fake: Tensor, term: TermOf, seen: Seen): Promise<{ real: LossOutput; fake: LossOutput }> {
    const { D } = m;
    const batch = real.shape[0]!;
    if (passes === 'separate') {
      const dReal = await D.forward(plan, await seen(real, 0, 'D real'), { training: true });
      const lossReal = await m.loss.dReal(term(dReal.y, 'D real loss'));
      const dFake = await D.forward(plan, await seen(fake, batch, 'D fake'), { training: true });
      const lossFake = await m.loss.dFake(term(dFake.y, 'D fake loss'));
      await D.backward(plan, dReal, lossReal.grad, { needDx: false, accumulate: false, paramGrads: true });
      await D.backward(plan, dFake, lossFake.grad, { needDx: false, accumulate: true, paramGrads: true });
      return { real: lossReal, fake: lossFake };
    }
    // One pass over [real; fake]: BatchNorm keeps each half's statistics (and updates the
    // running ones real first, then fake), so only the sums over the batch in D's weight
    // gradients change order: each GEMM sums both halves, where two passes accumulated.
    const both = plan.tensor(`D input (real; fake) (batch ${batch})`, [2 * batch, ...real.shape.slice(1)]);
    await copyInto(plan, real, both, 0);
    await copyInto(plan, fake, both, real.size);
    const d = await D.forward(plan, await seen(both, 0, 'D input'), { training: true, groups: 2 });
    const lossReal = await m.loss.dReal(term(d.y, 'D real loss', { rows: { first: 0, count: batch } }));
    const lossFake = await m.loss.dFake(term(d.y, 'D fake loss', { rows: { first: batch, count: batch }, grad: lossReal.grad }));
    await D.backward(plan, d, lossReal.grad, { needDx: false, accumulate: false, paramGrads: true });
    return { real: lossReal, fake: lossFake };
  }

  /** Points the inputs at global step `step` (noise stream) and records it for the finite check. */
  setStep(step: number): void {
    this.noise.setStream(step);
    this.augmentNoise?.setStream(step);
    this.m.gpu.writeState(this.stepParams, 0, new Uint8Array(FINITE.params({ step })));
  }

  /** One whole step's dispatches (inputs included unless `externalInputs`). */
  dispatchesFor(externalInputs = false): Dispatch[] {
    return externalInputs ? this.step : [...this.inputs, ...this.step];
  }
}
