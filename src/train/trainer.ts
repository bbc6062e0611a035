/**
 * The reference training run on the GPU: models, optimisers, data and the per-batch-size step
 * plans, and the counters that say where in the run we are. No readbacks except on request.
 */
import { Adam } from '../backprop/adam.js';
import { Ema } from '../backprop/ema.js';
import type { EncodedStep, Gpu } from '../gpu/gpu.js';
import { profileDispatches, type TimedDispatch } from '../gpu/profiler.js';
import type { Sequential } from '../layers/sequential.js';
import { GpuDataset } from '../data/dataset.js';
import type { ImageSet } from '../data/idx.js';
import { FLAG_CLEAR } from '../shaders/finite.js';
import { makeGrid, type Grid } from '../image/images.js';
import { INIT_STREAMS, discriminator, generator, imageShape, initialValues, loadValues, modelSpec, type ModelSpec } from '../model/models.js';
import { StepPlan, type Conditioning } from './step.js';
import { checkBatch, dPassesFor, trainingNeed, type DPasses } from '../model/limits.js';
import { convPathFor } from '../layers/conv-base.js';
import { MatmulTuner } from '../layers/matmul-tuner.js';
import { checkSettings, type TrainConfig } from './settings.js';
import { LrSchedule, baseRates } from './lr-schedule.js';
import { ganLoss, type GanLoss } from './gan-loss.js';
import { ActivationArena } from '../layers/activation-arena.js';
import { DIGITS } from '../data/classes.js';
import { Sampler, classRows } from '../model/sample.js';

/** Images per class in a conditional run's grid (a row each). */
export const GRID_PER_CLASS = 10;

export { REFERENCE_CONFIG, type TrainConfig } from './settings.js';

/** Rejects a config with a field out of its range (NaN and Infinity included), a model its family does not build, or a loss its settings contradict, naming the field. */
export function checkTrainConfig(c: TrainConfig): void {
  checkSettings(c);
  modelSpecOf(c);
  lossOf(c);
  if (c.spectralNorm && c.dPasses === 'merged') throw new Error("--d-passes merged: spectral normalisation runs a power iteration per D forward, as PyTorch's, so D's real and fake passes stay separate");
}

/** D's passes a config asks for: separate with spectral normalisation (a power iteration per forward), else its setting. */
export function dPassesOf(c: Pick<TrainConfig, 'dPasses' | 'spectralNorm'>): DPasses | 'auto' {
  return c.spectralNorm ? 'separate' : c.dPasses;
}

/** The model pair a config trains (checked: a family's sizes, positive widths). */
export function modelSpecOf(c: Pick<TrainConfig, 'arch' | 'channels' | 'imageSize' | 'latentDim' | 'ngf' | 'ndf' | 'conditional' | 'classes'>): ModelSpec {
  return modelSpec({ arch: c.arch, channels: c.channels, size: c.imageSize, latentDim: c.latentDim, ngf: c.ngf, ndf: c.ndf, classes: c.conditional === 'none' ? 0 : c.classes });
}

/** The GAN loss a config trains with (src/train/gan-loss.ts). */
export function lossOf(c: Pick<TrainConfig, 'loss' | 'realLabel' | 'conditional' | 'classes'>): GanLoss {
  const conditional = conditioningOf(c);
  return ganLoss(c.loss, { realLabel: c.realLabel, ...(conditional ? { conditional } : {}) });
}

/** The conditioning a config asks for; undefined: unconditional. */
export function conditioningOf(c: Pick<TrainConfig, 'conditional' | 'classes'>): Conditioning | undefined {
  return c.conditional === 'none' ? undefined : { head: c.conditional, classes: c.classes };
}

export interface StepStats {
  /** loss_real + loss_fake, as the reference's d_loss. */
  dLoss: number;
  gLoss: number;
  /** Mean D output on the real batch and on the fake batch (before D's update). */
  dReal: number;
  dFake: number;
}

export class GanTrainer {
  /** Steps completed over the whole run. */
  globalStep = 0;
  epoch = 0;
  /** Next batch index within the epoch. */
  batchIndex = 0;

  /** Batches per epoch when a run is limited (--limit-batches); null: the whole data set. */
  batchLimit: number | null = null;

  private readonly plans = new Map<number, StepPlan>();
  /** Picks matmul variants for the plans (timing them when config.tune is not off). */
  readonly tuner: MatmulTuner;
  /** Where tuning progress goes (the CLI prints it; silent by default). */
  static tuneLog: (line: string) => void = () => {};
  /** The plans' activations, gradients and scratch: slots sized by the full batch's plan, shared by all plans. */
  readonly activations: ActivationArena;
  /** What each class is (the data's names; the digits without data): saved in checkpoints of conditional runs. */
  readonly classNames: readonly string[];
  /** A conditional run's grid sampler, built on the first grid. */
  private gridSampler: Promise<Sampler> | null = null;
  /** Both learning rates per step: Adam's writes and the metrics read it. */
  readonly schedule: LrSchedule;
  /** Completion of submitted steps: at most MAX_IN_FLIGHT run ahead of the CPU. */
  private readonly inflight: Promise<unknown>[] = [];

  private constructor(
    readonly gpu: Gpu,
    readonly config: TrainConfig,
    readonly G: Sequential,
    readonly D: Sequential,
    readonly optG: Adam,
    readonly optD: Adam,
    readonly dataset: GpuDataset | null,
    readonly flag: GPUBuffer,
    /** G's weight average (config.ema > 0). */
    readonly emaG: Ema | null,
  ) {
    this.tuner = new MatmulTuner(gpu, config.tune, undefined, GanTrainer.tuneLog);
    this.schedule = new LrSchedule(config, () => this.batchesPerEpoch);
    this.activations = new ActivationArena(gpu, 'activations');
    this.classNames = dataset?.set.classNames ?? DIGITS;
    if (config.conditional !== 'none' && this.classNames.length !== config.classes) {
      throw new Error(`${dataset?.set.source ?? 'data'}: ${this.classNames.length} class names for a model of ${config.classes} classes`);
    }
  }

  /** `set` null: inputs are written by the caller (parity tests). */
  static async create(gpu: Gpu, set: ImageSet | null, config: TrainConfig): Promise<GanTrainer> {
    checkTrainConfig(config);
    // Refused before anything is allocated, naming what the model needs.
    const spec = modelSpecOf(config);
    const [C, H, W] = imageShape(spec);
    if (set && (set.channels !== C || set.height !== H || set.width !== W)) {
      throw new Error(`${set.source}: images are ${set.channels}x${set.height}x${set.width} (channels x height x width); this ${spec.arch} model takes ${C}x${H}x${W}`);
    }
    const least = dPassesOf(config) === 'merged' ? 'merged' : 'separate';
    checkBatch(gpu, config.batchSize, trainingNeed(spec, convPathFor(gpu, config.conv), least), 'batch size');
    const cond = conditioningOf(config);
    const G = generator(spec).allocate(gpu);
    // A loss on D's probability keeps its final Sigmoid; on logits, the same model without it (no parameters).
    const D = discriminator(spec, { sigmoid: lossOf(config).dOutput === 'probability', spectralNorm: config.spectralNorm, norm: config.dNorm }).allocate(gpu);
    const initialG = initialValues(G, config.seed, config.init, INIT_STREAMS.generator);
    loadValues(gpu, G, initialG);
    loadValues(gpu, D, initialValues(D, config.seed, config.init, INIT_STREAMS.discriminator));
    const hyper = { beta1: config.beta1, beta2: config.beta2, eps: 1e-8, weightDecay: 0 };
    const lr = baseRates(config);
    const optG = await Adam.create(gpu, G.params, { ...hyper, lr: lr.g });
    const optD = await Adam.create(gpu, D.params, { ...hyper, lr: lr.d });
    const dataset = set ? await GpuDataset.create(gpu, set, { batchSize: config.batchSize, seed: config.seed, shardBytes: config.shardBytes, ...(cond ? { classes: cond.classes } : {}) }) : null;
    const flag = gpu.tensor('non-finite flag', [4], 'u32', new Uint32Array([FLAG_CLEAR, 0, 0, 0])).buffer;
    const emaG = config.ema > 0 ? await Ema.create(gpu, G, config.ema) : null;
    emaG?.load(initialG);
    return new GanTrainer(gpu, config, G, D, optG, optD, dataset, flag, emaG);
  }

  get batchesPerEpoch(): number {
    if (!this.dataset) throw new Error('trainer has no data set');
    const all = this.dataset.batchesPerEpoch;
    return this.batchLimit === null ? all : Math.min(all, this.batchLimit);
  }

  /** The step plan for a batch size, built on first use (pipelines are shared through the cache). */
  async plan(batch: number): Promise<StepPlan> {
    let p = this.plans.get(batch);
    // The full batch's plan sizes the arena's slots; a smaller batch's plan then fits in their prefixes.
    if (!p && this.dataset && batch < this.dataset.batchSize) await this.plan(this.dataset.batchSize);
    if (!p) {
      const conv = convPathFor(this.gpu, this.config.conv);
      p = await StepPlan.build(
        {
          gpu: this.gpu,
          G: this.G,
          D: this.D,
          adamG: this.optG.dispatches,
          adamD: this.optD.dispatches,
          emaG: this.emaG?.dispatches,
          flag: this.flag,
          latentDim: this.config.latentDim,
          seed: this.config.seed,
          loss: lossOf(this.config),
          matmul: this.config.matmul,
          conv,
          schedule: { dPasses: dPassesFor(this.gpu, batch, modelSpecOf(this.config), conv, dPassesOf(this.config)) },
          tuner: this.tuner,
          activations: this.activations,
          conditional: conditioningOf(this.config),
          augment: this.config.diffaug,
        },
        this.dataset,
        batch,
      );
      this.plans.set(batch, p);
    }
    return p;
  }

  /** Submits the next step of the run (gathering its batch on the GPU); returns its plan once at most two submits are unfinished. */
  async step(): Promise<StepPlan> {
    return (await this.steps(1))[0]!;
  }

  /**
   * Submits up to `k` next steps of the run as one command buffer (stopping at the end of an
   * epoch) and returns their plans. Each step's state (batch offset, epoch order, noise stream,
   * Adam step) is recorded and copied in order inside the command buffer, so the steps run
   * exactly as k calls of step() would. Read stats only from the last plan: buffers a plan
   * shares with the earlier steps of its group were overwritten.
   */
  async steps(k: number): Promise<StepPlan[]> {
    const ds = this.requireDataset();
    const group: EncodedStep[] = [];
    const plans: StepPlan[] = [];
    for (let i = 0; i < k; i++) {
      // A group ends at an epoch's end, and before a streamed set's next shard (whose upload must follow every step of the last).
      if (i > 0 && (this.batchIndex === 0 || ds.startsShard(this.batchIndex))) break;
      const plan = await this.plan(ds.sizeOf(this.batchIndex));
      const writes = this.gpu.record(() => this.prepareStep(ds, plan));
      group.push({ writes, dispatches: plan.dispatchesFor(false) });
      plans.push(plan);
      this.nextBatch();
    }
    this.submit(group);
    await this.throttle();
    return plans;
  }

  /** The one submit path of training steps: their state writes and dispatches in one command buffer. */
  private submit(group: EncodedStep[]): void {
    this.gpu.runSteps(group, `${group.length} training steps`);
    this.track(this.gpu.race(this.gpu.device.queue.onSubmittedWorkDone()));
  }

  /**
   * Runs the next step of the run like step(), but with every dispatch timed on its own
   * (src/gpu/profiler.ts): the run goes on exactly as if step() had been called.
   */
  async profileStep(): Promise<{ plan: StepPlan; timed: TimedDispatch[] }> {
    const ds = this.requireDataset();
    await this.throttle(0);
    const plan = await this.plan(ds.sizeOf(this.batchIndex));
    this.prepareStep(ds, plan);
    const timed = await profileDispatches(this.gpu, plan.dispatchesFor(false));
    this.nextBatch();
    return { plan, timed };
  }

  /** Submits one step on caller-provided real images and z, and labels for a conditional model (parity tests). */
  async stepWith(real: Float32Array, z: Float32Array, batch: number, labels?: Float32Array): Promise<StepPlan> {
    const plan = await this.plan(batch);
    if (!plan.labels !== !labels) throw new Error(`stepWith: labels ${labels ? 'given for an unconditional' : 'missing for a conditional'} model`);
    this.gpu.write(plan.real, real);
    this.gpu.write(plan.z, z);
    if (plan.labels && labels) this.gpu.write(plan.labels, labels);
    const writes = this.gpu.record(() => this.nextStepState(plan));
    this.submit([{ writes, dispatches: plan.dispatchesFor(true) }]);
    return plan;
  }

  private requireDataset(): GpuDataset {
    if (!this.dataset) throw new Error('trainer has no data set: use stepWith()');
    return this.dataset;
  }

  /** The state writes of the next step: its batch (and the epoch's order), noise stream and Adam step. */
  private prepareStep(ds: GpuDataset, plan: StepPlan): void {
    if (this.batchIndex === 0) ds.setEpoch(this.epoch);
    ds.setBatch(this.batchIndex);
    this.nextStepState(plan);
  }

  /** What every step advances, whatever its inputs: the noise stream and step counter, Adam's steps. */
  private nextStepState(plan: StepPlan): void {
    plan.setStep(this.globalStep);
    const lr = this.schedule.rates(this.globalStep);
    this.optD.nextStep(lr.d);
    this.optG.nextStep(lr.g);
    this.globalStep++;
  }

  private nextBatch(): void {
    this.batchIndex++;
    if (this.batchIndex >= this.batchesPerEpoch) {
      this.batchIndex = 0;
      this.epoch++;
    }
  }

  /** Keeps a submit's completion for throttle(); a device loss rejects it, reported by whoever awaits it (never unhandled). */
  private track(done: Promise<unknown>): void {
    done.catch(() => {});
    this.inflight.push(done);
  }

  /**
   * Waits until at most `max` submitted steps are unfinished. Nothing is read back per step, so
   * without this the CPU would queue thousands of steps ahead of the GPU.
   */
  async throttle(max = 2): Promise<void> {
    while (this.inflight.length > max) await this.inflight.shift();
  }

  /**
   * The 5x5 grid (or fewer, for small batches) of the fake batch `plan` last produced; for a
   * conditional run, one row per class (GRID_PER_CLASS images each, the same noise every time) from
   * G in eval mode, as `sample --class all` draws them.
   */
  async fakeGrid(plan: StepPlan): Promise<Grid> {
    const cond = conditioningOf(this.config);
    if (cond) {
      this.gridSampler ??= Sampler.create(this.gpu, this.G, cond.classes * GRID_PER_CLASS, undefined, cond.classes);
      const images = await (await this.gridSampler).fromSeed(this.config.seed, classRows(cond.classes, GRID_PER_CLASS));
      return makeGrid(images, cond.classes * GRID_PER_CLASS, imageShape(modelSpecOf(this.config)), GRID_PER_CLASS);
    }
    const fake = (await this.gpu.read(plan.fake)) as Float32Array;
    const [, C, H, W] = plan.fake.shape as [number, number, number, number];
    return makeGrid(fake, Math.min(25, plan.batch), [C, H, W]);
  }

  /** Puts the run back where a checkpoint left it. */
  restoreCounters(c: { globalStep: number; epoch: number; batchIndex: number; adamStepG: number; adamStepD: number }): void {
    for (const [k, v] of Object.entries(c)) {
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`checkpoint: ${k} must be a non-negative integer, found ${v}`);
    }
    this.globalStep = c.globalStep;
    this.epoch = c.epoch;
    this.batchIndex = c.batchIndex;
    this.optG.step = c.adamStepG;
    this.optD.step = c.adamStepD;
    // Mid-epoch: the order of the epoch being resumed must be in place.
    this.dataset?.setEpoch(this.epoch);
  }

  /** Reads the losses of the last step `plan` ran (a readback: only when logging). */
  async stats(plan: StepPlan): Promise<StepStats> {
    const [r, f, g] = await Promise.all([plan.statsReal, plan.statsFake, plan.statsG].map((t) => this.gpu.read(t)));
    // d_loss = loss_real + loss_fake in float32, as PyTorch adds the two tensors.
    return { dLoss: Math.fround(r![0]! + f![0]!), gLoss: g![0]!, dReal: r![1]!, dFake: f![1]! };
  }

  /** The first step with a non-finite loss, or null. */
  async firstNonFiniteStep(): Promise<number | null> {
    const v = new Uint32Array(await this.gpu.readBytes(this.flag, 0, 4))[0]!;
    return v === FLAG_CLEAR ? null : v;
  }
}
