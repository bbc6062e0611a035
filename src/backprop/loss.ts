/** Loss dispatch: forward and gradient in one kernel (src/shaders/loss.ts). */
import type { Tensor } from '../gpu/tensor.js';
import type { PlanBuilder } from '../layers/plan.js';
import { lossProgram, softmaxCrossEntropyProgram, type ElementLoss } from '../shaders/loss.js';
import { conditionalLossProgram, type Head } from '../shaders/conditional.js';

export interface LossOutput {
  /** dL/d(input), same shape as the input. */
  grad: Tensor;
  /** [loss, mean prediction]. */
  stats: Tensor;
}

/**
 * Appends mean-reduced `loss` of `input` against the constant `target` (e.g. 1 = real). With
 * `rows`, only rows [first, first + count) of `input` (dimension 0), writing that part of `grad`
 * (given: one gradient tensor for the groups of a batch, e.g. D's real and fake halves).
 */
export async function lossAgainst(
  plan: PlanBuilder,
  loss: ElementLoss,
  input: Tensor,
  target: number,
  label: string,
  o: { rows?: { first: number; count: number }; grad?: Tensor } = {},
): Promise<LossOutput> {
  const { gpu } = plan;
  const { first, count, perRow, grad } = rowsOf(plan, input, label, o);
  const stats = gpu.tensor(`${label} stats`, [2]);
  plan.add(await lossProgram(loss).prepare(gpu, {}, { input, grad, stats }, { n: count * perRow, label: target, grad_scale: 1, first: first * perRow }));
  return { grad, stats };
}

/** The rows a loss reads (all by default, checked), their width, and the gradient it writes into. */
function rowsOf(plan: PlanBuilder, input: Tensor, label: string, o: { rows?: { first: number; count: number }; grad?: Tensor }) {
  const rows = input.shape[0] ?? 1;
  const perRow = input.size / rows;
  const { first, count } = o.rows ?? { first: 0, count: rows };
  if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 1 || first + count > rows) {
    throw new Error(`${label}: rows ${first}..${first + count - 1} outside the input's ${rows} rows`);
  }
  const grad = o.grad ?? plan.tensor(`${label} grad`, input.shape);
  if (grad.size !== input.size) throw new Error(`${label}: gradient tensor of ${grad.size} values for an input of ${input.size}`);
  return { first, count, perRow, grad };
}

/**
 * lossAgainst for a conditional D (src/shaders/conditional.ts): `input` is D's [rows, 1 + classes]
 * output, `labels` the classes of the rows read (labels[0] for row `first`).
 */
export async function conditionalLoss(
  plan: PlanBuilder,
  head: Head,
  loss: ElementLoss,
  input: Tensor,
  labels: Tensor,
  target: number,
  label: string,
  o: { rows?: { first: number; count: number }; grad?: Tensor } = {},
): Promise<LossOutput> {
  const { gpu } = plan;
  const { first, count, perRow, grad } = rowsOf(plan, input, label, o);
  if (input.shape.length !== 2 || perRow < 2) throw new Error(`${label}: expected D's output [rows, 1 + classes], found [${input.shape.join(', ')}]`);
  if (labels.size < count) throw new Error(`${label}: ${labels.size} labels for ${count} rows`);
  const stats = gpu.tensor(`${label} stats`, [2]);
  const p = conditionalLossProgram(head, loss, perRow - 1);
  plan.add(await p.prepare(gpu, {}, { input, labels, grad, stats }, { count, first, label: target, grad_scale: 1 }));
  return { grad, stats };
}

/** Appends mean softmax cross-entropy of `logits` [n, classes] against `labels` [n] (class indices as f32). */
export async function softmaxCrossEntropy(plan: PlanBuilder, logits: Tensor, labels: Tensor, label: string): Promise<LossOutput> {
  const { gpu } = plan;
  const [n, classes] = logits.shape as [number, number];
  if (logits.shape.length !== 2 || labels.size !== n) {
    throw new Error(`${label}: expected logits [n, classes] and n labels, found [${logits.shape.join(', ')}] and ${labels.size}`);
  }
  const grad = plan.tensor(`${label} grad`, logits.shape);
  const stats = gpu.tensor(`${label} stats`, [2]);
  plan.add(await softmaxCrossEntropyProgram(classes).prepare(gpu, {}, { logits, labels, grad, stats }, { n, grad_scale: 1 }));
  return { grad, stats };
}
