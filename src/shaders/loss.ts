/**
 * Losses with a constant target label (1 for "real", 0 for "fake", as the reference uses), mean
 * reduction, in one single-workgroup dispatch that writes both the loss and the gradient.
 * stats[0] = loss, stats[1] = mean prediction (D(x) or D(G(z)) for logging).
 *
 *  - `bce`: BCELoss on probabilities p, each log clamped at -100 like PyTorch;
 *    dL/dp = (p - t) / max(p (1 - p), 1e-12) / n, PyTorch's own backward formula.
 *  - `bce_logits`: BCEWithLogitsLoss on logits x (the fused, numerically stable option):
 *    loss = max(x, 0) - x t + log(1 + exp(-|x|)), dL/dx = (sigmoid(x) - t) / n.
 */
import type { Kernel } from '../gpu/kernel.js';
import { REDUCE_WG, workgroupSum } from './reduce.js';

export const LOSSES = ['bce', 'bce_logits'] as const;
export type Loss = (typeof LOSSES)[number];

/** `first`: the loss covers input[first .. first + n - 1] and writes only that part of grad. */
export function lossParams(n: number, target: number, gradScale = 1, first = 0): ArrayBuffer {
  const buf = new ArrayBuffer(16);
  new Uint32Array(buf, 0, 1)[0] = n;
  new Float32Array(buf, 4, 2).set([target, gradScale]);
  new Uint32Array(buf, 12, 1)[0] = first;
  return buf;
}

const TERMS: Record<Loss, string> = {
  bce: /* wgsl */ `
  let p = input[params.first + i];
  let term = -(t * clamped_log(p) + (1.0 - t) * clamped_log(1.0 - p));
  let pred = p;
  grad[params.first + i] = params.grad_scale * (p - t) / max((1.0 - p) * p, 1e-12) * inv_n;`,
  bce_logits: /* wgsl */ `
  let x = input[params.first + i];
  let term = select(max(x, 0.0) - x * t + log(1.0 + exp(-abs(x))), x, is_nan(x));
  let pred = 1.0 / (1.0 + exp(-x));
  // sigmoid(x) - t, written so that nothing cancels: sigmoid(x) + sigmoid(-x) = 1.
  let pred_neg = 1.0 / (1.0 + exp(x));
  grad[params.first + i] = params.grad_scale * ((1.0 - t) * pred - t * pred_neg) * inv_n;`,
};

export function lossKernel(loss: Loss): Kernel {
  return {
    name: `loss.${loss}`,
    code: /* wgsl */ `
struct Params { n: u32, label: f32, grad_scale: f32, first: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;

// PyTorch clamps each log at -100. GPU log(0) is not reliably -inf (llvmpipe and SwiftShader
// return about -87.3, the log of the smallest normal), so 0 is caught explicitly. A NaN input
// must stay NaN (as in PyTorch) so the run's finite check sees it, but max(NaN, -100) may
// return -100: NaN is tested by its bits (fast-math may fold v != v away).
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
fn clamped_log(v: f32) -> f32 {
  if (is_nan(v)) { return v; }
  return select(max(log(v), -100.0), -100.0, v <= 0.0);
}
${workgroupSum('sum2', 'vec2<f32>')}

@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  let t = params.label;
  let inv_n = 1.0 / f32(params.n);
  var s = vec2<f32>(0.0);
  for (var i = lid; i < params.n; i += ${REDUCE_WG}u) {
    ${TERMS[loss].trim()}
    s += vec2<f32>(term, pred);
  }
  let total = sum2(s, lid);
  if (lid == 0u) {
    stats[0] = total.x * inv_n;
    stats[1] = total.y * inv_n;
  }
}`,
  };
}

/**
 * Softmax cross-entropy over rows of `classes` logits against integer labels (stored as f32), as
 * F.cross_entropy with mean reduction; the evaluator's classifier loss. One workgroup, a row per
 * invocation in turn: log-sum-exp around the row's max, loss = lse - x[label],
 * dL/dx = (softmax - onehot) / n. stats[0] = mean loss, stats[1] = accuracy (argmax == label,
 * the first maximum winning ties as torch.argmax does).
 */
export function softmaxCrossEntropyKernel(classes: number): Kernel {
  return {
    name: 'loss.softmax_ce',
    code: /* wgsl */ `
struct Params { n: u32, grad_scale: f32, _pad0: u32, _pad1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
const C = ${classes}u;
${workgroupSum('sum2', 'vec2<f32>')}

@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  let inv_n = 1.0 / f32(params.n);
  var s = vec2<f32>(0.0);
  for (var r = lid; r < params.n; r += ${REDUCE_WG}u) {
    let row = r * C;
    let label = u32(labels[r]);
    var m = logits[row];
    var best = 0u;
    for (var j = 1u; j < C; j++) {
      if (logits[row + j] > m) { m = logits[row + j]; best = j; }
    }
    var total = 0.0;
    for (var j = 0u; j < C; j++) { total += exp(logits[row + j] - m); }
    let lse = m + log(total);
    for (var j = 0u; j < C; j++) {
      let p = exp(logits[row + j] - lse);
      grad[row + j] = params.grad_scale * (p - select(0.0, 1.0, j == label)) * inv_n;
    }
    s += vec2<f32>(lse - logits[row + label], select(0.0, 1.0, best == label));
  }
  let t = sum2(s, lid);
  if (lid == 0u) {
    stats[0] = t.x * inv_n;
    stats[1] = t.y * inv_n;
  }
}`,
  };
}
