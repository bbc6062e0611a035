/**
 * Class conditioning (train --conditional): G's input is z with the one-hot class appended
 * (Mirza & Osindero 2014; an embedding would be absorbed into G's first Linear anyway), and D's
 * last Linear has 1 + K outputs that one of two heads reads:
 *  - `projection` (Miyato & Koyama 2018): the logit is out[0] + out[1 + y], i.e. psi(phi(x)) +
 *    <embed(y), phi(x)> with the class embedding as rows 1..K of the Linear;
 *  - `acgan` (Odena et al. 2017, what tfjs-examples' mnist-acgan trains): out[0] is the
 *    real/fake logit, out[1..K] class logits with a softmax cross-entropy term against y, added
 *    to the adversarial loss of D (real and fake) and of G.
 * Labels are class indices stored as f32 (what the gather writes and softmax CE reads).
 */
import { program } from '../gpu/program.js';
import { FLAT_ID, grid1d } from './common.js';
import { REDUCE_WG, workgroupSum } from './reduce.js';
import { BCE, BCE_LOGITS, HINGE_D, HINGE_G, CLAMPED_LOG, MEAN_STATS, softmaxCrossEntropyRow, type ElementLoss } from './loss.js';

export const HEADS = ['projection', 'acgan'] as const;
export type Head = (typeof HEADS)[number];
/** train --conditional's head unless --head says otherwise (docs/quality.md has the comparison). */
export const DEFAULT_HEAD: Head = 'projection';

export const CONCAT_WG = 256;

/** out[r] = [z[r], onehot(labels[r], classes)]: G's conditional input, [rows, latent + classes]. */
export function concatOneHotProgram() {
  return program({
    name: 'conditional.concat_onehot',
    workgroupSize: [CONCAT_WG],
    uniforms: { rows: 'u32', latent: 'u32', classes: 'u32' },
    bindings: { z: 'read', labels: 'read', out: 'read_write' },
    wgsl: FLAT_ID,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  let width = params.latent + params.classes;
  if (i >= params.rows * width) { return; }
  let r = i / width;
  let j = i - r * width;
  if (j < params.latent) {
    out[i] = z[r * params.latent + j];
  } else {
    out[i] = select(0.0, 1.0, j - params.latent == u32(labels[r]));
  }
}`,
    grid: ({ rows, latent, classes }: { rows: number; latent: number; classes: number }, max: number) => grid1d(rows * (latent + classes), CONCAT_WG, max),
  });
}

/**
 * The adversarial term on the head's logit `x` against target t, and dL/dx into `g`: the loss's
 * own statements on what it reads: a loss on probabilities as PyTorch's Sigmoid + that loss (so
 * the sigmoid first, and Sigmoid's backward after the loss's), a loss on logits on x itself.
 */
function adversarial(loss: ElementLoss): string {
  const [v, chain] = loss.input === 'probability' ? ['1.0 / (1.0 + exp(-x))', ' * ((1.0 - v) * v)'] : ['x', ''];
  return `let v = ${v};
    ${loss.wgsl.trim()}
    let g = params.grad_scale * dl * inv_n${chain};`;
}

/** Each head's work on one row, around its adversarial statements `adv`. */
const HEAD_BODY: Record<Head, (adv: string) => string> = {
  projection: (adv) => /* wgsl */ `
    let x = input[row] + input[row + 1u + y];
    ${adv}
    grad[row] = g;
    for (var j = 0u; j < C; j++) { grad[row + 1u + j] = select(0.0, g, j == y); }
    s += vec2<f32>(term, pred);`,
  acgan: (adv) => /* wgsl */ `
    let x = input[row];
    ${adv}
    grad[row] = g;
    // Softmax cross-entropy of the class logits against y.
    ${softmaxCrossEntropyRow('input', 'row + 1u', 'y')}
    s += vec2<f32>(term + lse - input[row + 1u + y], pred);`,
};

/**
 * Mean loss of D's [rows, 1 + classes] output rows [first, first + count) against the constant
 * target `label` and the classes labels[0 .. count - 1]; writes those rows of grad (every
 * column). stats[0] = loss (acgan: adversarial + class term), stats[1] = mean D probability of
 * "real". One workgroup.
 */
export function conditionalLossProgram(head: Head, loss: ElementLoss, classes: number) {
  return program({
    name: `conditional.loss_${head}.${loss.name}.${classes}`,
    workgroupSize: [REDUCE_WG],
    uniforms: { count: 'u32', first: 'u32', label: 'f32', grad_scale: 'f32' },
    bindings: { input: 'read', labels: 'read', grad: 'read_write', stats: 'read_write' },
    wgsl: `const C = ${classes}u;
${CLAMPED_LOG}
${workgroupSum('sum2', 'vec2<f32>')}`,
    main: /* wgsl */ `fn main(@builtin(local_invocation_index) lid: u32) {
  let t = params.label;
  let inv_n = 1.0 / f32(params.count);
  var s = vec2<f32>(0.0);
  for (var r = lid; r < params.count; r += WG_X) {
    let row = (params.first + r) * (C + 1u);
    let y = min(u32(labels[r]), C - 1u);
    ${HEAD_BODY[head](adversarial(loss)).trim()}
  }
  ${MEAN_STATS}
}`,
    grid: () => [1, 1, 1] as const,
  });
}

export const CONDITIONAL_PROGRAMS = [
  concatOneHotProgram(),
  ...HEADS.flatMap((h) => [BCE, BCE_LOGITS, HINGE_D, HINGE_G].map((l) => conditionalLossProgram(h, l, 10))),
];
