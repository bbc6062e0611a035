/**
 * The GAN's loss as one object: D's term on real images, D's term on G's images, G's term, what
 * D's last layer gives (a probability after a Sigmoid, or a logit), and how a conditional D's
 * head (src/shaders/conditional.ts) reads its output. The step (src/train/step.ts) asks it for
 * the three terms and knows nothing of targets or heads. A new loss is one entry of GAN_LOSSES.
 */
import type { Tensor } from '../gpu/tensor.js';
import type { PlanBuilder } from '../layers/plan.js';
import { conditionalLoss, lossAgainst, type LossOutput } from '../backprop/loss.js';
import { BCE, BCE_LOGITS, HINGE_D, HINGE_G, type ElementLoss } from '../shaders/loss.js';
import type { Head } from '../shaders/conditional.js';

/** A conditional model pair: D's head and the number of classes. */
export interface Conditioning {
  head: Head;
  classes: number;
}

/** What a term reads: D's output (some of its rows), and the classes of those rows for a conditional D. */
export interface TermInput {
  plan: PlanBuilder;
  /** D's output: [rows, 1] (or [rows] after a Sigmoid), [rows, 1 + classes] for a conditional D. */
  out: Tensor;
  /** The rows' classes (conditional only). */
  labels: Tensor | null;
  /** Names the term's tensors and errors. */
  label: string;
  /** Only rows [first, first + count) of `out` (a group of a merged pass); default all. */
  rows?: { first: number; count: number };
  /** Write the gradient into this tensor (one for all groups of a merged pass). */
  grad?: Tensor;
}

export interface GanLoss {
  /** What D's last layer gives the unconditional loss; a conditional D's head always reads logits. */
  readonly dOutput: 'probability' | 'logit';
  /** Each appends its dispatches: the gradient of the term with respect to `out`, and [loss, mean D probability]. */
  dReal(t: TermInput): Promise<LossOutput>;
  dFake(t: TermInput): Promise<LossOutput>;
  g(t: TermInput): Promise<LossOutput>;
}

/** Settings a loss is made from (src/train/settings.ts). */
export interface LossSettings {
  /** D's target for real images (1, or below for one-sided label smoothing); G's target stays 1. */
  realLabel: number;
  conditional?: Conditioning;
}

/** One term: an element loss (its WGSL statements) against a constant target. */
export interface Term {
  loss: ElementLoss;
  target: number;
}

/**
 * A GanLoss from its three terms, each run by the loss kernel (or, for a conditional D, by its
 * head's kernel on the head's logit). `dOutput` follows the terms' input (all three must agree).
 */
export function termsLoss(terms: { dReal: Term; dFake: Term; g: Term }, conditional?: Conditioning): GanLoss {
  const inputs = new Set([terms.dReal, terms.dFake, terms.g].map((t) => t.loss.input));
  if (inputs.size !== 1) throw new Error(`GAN loss: its terms read ${[...inputs].join(' and ')}; D has one output`);
  const run = ({ loss, target }: Term) => async (t: TermInput) => {
    if (!conditional) return lossAgainst(t.plan, loss, t.out, target, t.label, t);
    if (!t.labels) throw new Error(`${t.label}: a conditional loss needs the rows' labels`);
    return conditionalLoss(t.plan, conditional.head, loss, t.out, t.labels, target, t.label, t);
  };
  return { dOutput: terms.dReal.loss.input, dReal: run(terms.dReal), dFake: run(terms.dFake), g: run(terms.g) };
}

/**
 * One element loss against the reference's targets, as its BCELoss: D real against `realLabel`,
 * D fake against 0, G against 1 (the non-saturating generator loss).
 */
export function targetLoss(loss: ElementLoss) {
  return ({ realLabel, conditional }: LossSettings): GanLoss => termsLoss({ dReal: { loss, target: realLabel }, dFake: { loss, target: 0 }, g: { loss, target: 1 } }, conditional);
}

/**
 * The hinge loss: D minimises relu(1 - D(x)) + relu(1 + D(G(z))), G minimises -D(G(z)), on D's
 * logit. It has no target to smooth, so a real label other than 1 is refused.
 */
export function hingeLoss({ realLabel, conditional }: LossSettings): GanLoss {
  if (realLabel !== 1) throw new Error(`real label ${realLabel} (--real-label, or the 0.9 of --recipe improved and classes): the hinge loss has no target to smooth (D's real term is relu(1 - D(x))); leave it at 1`);
  return termsLoss({ dReal: { loss: HINGE_D, target: 1 }, dFake: { loss: HINGE_D, target: -1 }, g: { loss: HINGE_G, target: 0 } }, conditional);
}

/** Every loss `train --loss` offers, by name. */
export const GAN_LOSSES = {
  bce: targetLoss(BCE),
  bce_logits: targetLoss(BCE_LOGITS),
  hinge: hingeLoss,
} satisfies Record<string, (s: LossSettings) => GanLoss>;

export type LossName = keyof typeof GAN_LOSSES;
export const LOSS_NAMES = Object.keys(GAN_LOSSES) as LossName[];

/** The loss a run trains with. */
export function ganLoss(name: LossName, s: LossSettings): GanLoss {
  return GAN_LOSSES[name](s);
}
