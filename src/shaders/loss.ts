/**
 * Losses with a constant target label (1 for "real", 0 for "fake", as the reference uses), mean
 * reduction, in one single-workgroup dispatch that writes both the loss and the gradient.
 * stats[0] = loss, stats[1] = mean prediction (D(x) or D(G(z)) for logging).
 *
 * A loss is an ElementLoss: its WGSL statements on one element, so a new loss is one object
 * (src/train/gan-loss.ts puts them together into a GAN's terms):
 *  - `bce`: BCELoss on probabilities p, each log clamped at -100 like PyTorch;
 *    dL/dp = (p - t) / max(p (1 - p), 1e-12) / n, PyTorch's own backward formula.
 *  - `bce_logits`: BCEWithLogitsLoss on logits x (the fused, numerically stable option):
 *    loss = max(x, 0) - x t + log(1 + exp(-|x|)), dL/dx = (sigmoid(x) - t) / n.
 *  - `hinge_d`, `hinge_g`: the hinge loss's terms on logits (below).
 */
import { program } from '../gpu/program.js';
import { REDUCE_WG, workgroupSum } from './reduce.js';

/**
 * A loss on one element `v` against the target `t`: WGSL statements defining `term` (its loss),
 * `pred` (D's probability of "real", for logging) and `dl` (dL/dv, before the gradient scale and
 * the 1/n of the mean). `input` says what v is: D's probability (after its Sigmoid) or its logit.
 * The conditional heads run the same statements on their logit (src/shaders/conditional.ts).
 */
export interface ElementLoss {
  /** Names its kernels: `loss.NAME`. */
  readonly name: string;
  readonly input: 'probability' | 'logit';
  readonly wgsl: string;
}

export const BCE: ElementLoss = {
  name: 'bce',
  input: 'probability',
  wgsl: /* wgsl */ `
  let term = -(t * clamped_log(v) + (1.0 - t) * clamped_log(1.0 - v));
  let pred = v;
  let dl = (v - t) / max((1.0 - v) * v, 1e-12);`,
};

export const BCE_LOGITS: ElementLoss = {
  name: 'bce_logits',
  input: 'logit',
  wgsl: /* wgsl */ `
  let term = select(max(v, 0.0) - v * t + log(1.0 + exp(-abs(v))), v, is_nan(v));
  let pred = 1.0 / (1.0 + exp(-v));
  // sigmoid(v) - t, written so that nothing cancels: sigmoid(v) + sigmoid(-v) = 1.
  let pred_neg = 1.0 / (1.0 + exp(v));
  let dl = (1.0 - t) * pred - t * pred_neg;`,
};

/**
 * The hinge loss (Lim & Ye 2017; SNGAN's, BigGAN's): D's terms relu(1 - t v) on its logit, with
 * t = 1 for real images and -1 for G's; dL/dv = -t where t v < 1, else 0 (PyTorch's relu
 * backward: 0 at the kink).
 */
export const HINGE_D: ElementLoss = {
  name: 'hinge_d',
  input: 'logit',
  wgsl: /* wgsl */ `
  let term = max(0.0, 1.0 - t * v);
  let pred = 1.0 / (1.0 + exp(-v));
  let dl = select(0.0, -t, t * v < 1.0);`,
};

/** G's hinge term: -v, D's logit on G's images, raised; no target. */
export const HINGE_G: ElementLoss = {
  name: 'hinge_g',
  input: 'logit',
  wgsl: /* wgsl */ `
  let term = -v;
  let pred = 1.0 / (1.0 + exp(-v));
  let dl = -1.0;`,
};

/**
 * The end of a single-workgroup loss: the workgroup's sum of the per-invocation vec2 `s` (from a
 * `sum2` workgroupSum), times inv_n, into stats[0] (the loss) and stats[1] (its second statistic).
 */
export const MEAN_STATS = /* wgsl */ `let total = sum2(s, lid);
  if (lid == 0u) {
    stats[0] = total.x * inv_n;
    stats[1] = total.y * inv_n;
  }`;

export const CLAMPED_LOG = /* wgsl */ `
// PyTorch clamps each log at -100. GPU log(0) is not reliably -inf (llvmpipe and SwiftShader
// return about -87.3, the log of the smallest normal), so 0 is caught explicitly. A NaN input
// must stay NaN (as in PyTorch) so the run's finite check sees it, but max(NaN, -100) may
// return -100: NaN is tested by its bits (fast-math may fold v != v away).
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
fn clamped_log(v: f32) -> f32 {
  if (is_nan(v)) { return v; }
  return select(max(log(v), -100.0), -100.0, v <= 0.0);
}`;

/**
 * The loss over input[first .. first + n - 1] against the constant `label`; writes only that part
 * of grad (scaled by grad_scale). One workgroup.
 */
export function lossProgram(loss: ElementLoss) {
  return program({
    name: `loss.${loss.name}`,
    workgroupSize: [REDUCE_WG],
    uniforms: { n: 'u32', label: 'f32', grad_scale: 'f32', first: 'u32' },
    bindings: { input: 'read', grad: 'read_write', stats: 'read_write' },
    wgsl: `${CLAMPED_LOG}
${workgroupSum('sum2', 'vec2<f32>')}`,
    main: /* wgsl */ `fn main(@builtin(local_invocation_index) lid: u32) {
  let t = params.label;
  let inv_n = 1.0 / f32(params.n);
  var s = vec2<f32>(0.0);
  for (var i = lid; i < params.n; i += WG_X) {
    let v = input[params.first + i];
    ${loss.wgsl.trim()}
    grad[params.first + i] = params.grad_scale * dl * inv_n;
    s += vec2<f32>(term, pred);
  }
  ${MEAN_STATS}
}`,
    grid: () => [1, 1, 1] as const,
  });
}

/**
 * One row of softmax cross-entropy: the C logits src[at .. at + C) against class `label`, with
 * log-sum-exp around the row's max. Writes grad[at + j] = grad_scale (softmax - onehot) / n and
 * defines `lse` (the row's loss is lse - src[at + label]) and `best` (the first argmax, as
 * torch.argmax). The classifier's loss below and the acgan head (src/shaders/conditional.ts).
 */
export function softmaxCrossEntropyRow(src: string, at: string, label: string): string {
  const x = (j: string) => `${src}[${at} + ${j}]`;
  return /* wgsl */ `var m = ${src}[${at}];
    var best = 0u;
    for (var j = 1u; j < C; j++) {
      if (${x('j')} > m) { m = ${x('j')}; best = j; }
    }
    var total = 0.0;
    for (var j = 0u; j < C; j++) { total += exp(${x('j')} - m); }
    let lse = m + log(total);
    for (var j = 0u; j < C; j++) {
      let p = exp(${x('j')} - lse);
      grad[${at} + j] = params.grad_scale * (p - select(0.0, 1.0, j == ${label})) * inv_n;
    }`;
}

/**
 * Softmax cross-entropy over rows of `classes` logits against integer labels (stored as f32), as
 * F.cross_entropy with mean reduction; the evaluator's classifier loss. One workgroup, a row per
 * invocation in turn: log-sum-exp around the row's max, loss = lse - x[label],
 * dL/dx = (softmax - onehot) / n. stats[0] = mean loss, stats[1] = accuracy (argmax == label,
 * the first maximum winning ties as torch.argmax does).
 */
export function softmaxCrossEntropyProgram(classes: number) {
  return program({
    name: 'loss.softmax_ce',
    workgroupSize: [REDUCE_WG],
    uniforms: { n: 'u32', grad_scale: 'f32' },
    bindings: { logits: 'read', labels: 'read', grad: 'read_write', stats: 'read_write' },
    wgsl: `const C = ${classes}u;
${workgroupSum('sum2', 'vec2<f32>')}`,
    main: /* wgsl */ `fn main(@builtin(local_invocation_index) lid: u32) {
  let inv_n = 1.0 / f32(params.n);
  var s = vec2<f32>(0.0);
  for (var r = lid; r < params.n; r += WG_X) {
    let row = r * C;
    let label = u32(labels[r]);
    ${softmaxCrossEntropyRow('logits', 'row', 'label')}
    s += vec2<f32>(lse - logits[row + label], select(0.0, 1.0, best == label));
  }
  ${MEAN_STATS}
}`,
    grid: () => [1, 1, 1] as const,
  });
}

export const LOSS_PROGRAMS = [lossProgram(BCE), lossProgram(BCE_LOGITS), lossProgram(HINGE_D), lossProgram(HINGE_G), softmaxCrossEntropyProgram(10)];
