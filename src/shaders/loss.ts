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
import { REDUCE_WG, WORKGROUP_SUM } from './reduce.js';

export const LOSSES = ['bce', 'bce_logits'] as const;
export type Loss = (typeof LOSSES)[number];

export function lossParams(n: number, target: number, gradScale = 1): ArrayBuffer {
  const buf = new ArrayBuffer(16);
  new Uint32Array(buf, 0, 1)[0] = n;
  new Float32Array(buf, 4, 2).set([target, gradScale]);
  return buf;
}

const TERMS: Record<Loss, string> = {
  bce: /* wgsl */ `
  let p = input[i];
  let term = -(t * max(log(p), -100.0) + (1.0 - t) * max(log(1.0 - p), -100.0));
  let pred = p;
  grad[i] = params.grad_scale * (p - t) / max((1.0 - p) * p, 1e-12) * inv_n;`,
  bce_logits: /* wgsl */ `
  let x = input[i];
  let term = max(x, 0.0) - x * t + log(1.0 + exp(-abs(x)));
  let pred = 1.0 / (1.0 + exp(-x));
  grad[i] = params.grad_scale * (pred - t) * inv_n;`,
};

export function lossKernel(loss: Loss): Kernel {
  return {
    name: `loss.${loss}`,
    code: /* wgsl */ `
struct Params { n: u32, target: f32, grad_scale: f32, _pad: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
${WORKGROUP_SUM}

@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  let t = params.target;
  let inv_n = 1.0 / f32(params.n);
  var s_loss = 0.0;
  var s_pred = 0.0;
  for (var i = lid; i < params.n; i += ${REDUCE_WG}u) {
    ${TERMS[loss].trim()}
    s_loss += term;
    s_pred += pred;
  }
  let total = workgroup_sum(s_loss, lid);
  let total_pred = workgroup_sum(s_pred, lid);
  if (lid == 0u) {
    stats[0] = total * inv_n;
    stats[1] = total_pred * inv_n;
  }
}`,
  };
}
