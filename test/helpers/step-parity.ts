/**
 * The end-of-run comparison of a training-step parity test (test/step.test.ts,
 * test/conditional-step.test.ts): every parameter, Adam moment and BN running statistic of G and
 * D after the fixture's steps against PyTorch's, at the tolerances below.
 */
import { expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import type { GanTrainer } from '../../src/train/trainer.js';
import { compareClose, compareMostlyClose, type Tolerance } from './compare.js';

/**
 * Tolerances, float32 against PyTorch's float32 (both round differently: summation orders differ):
 * - losses: 1e-4 relative (the bound).
 * - parameters: Adam moves each by lr * m / (sqrt(v) + eps) per step, a ratio that amplifies
 *   tiny gradient differences where the gradient itself is near zero (measured: up to 1.5e-5,
 *   7% of one step, in G's Linear weight). Bound: 1e-5 relative + a quarter of one step
 *   (atol 5e-5). The biases right before a BatchNorm (G model.0.bias, model.4.bias, D
 *   model.2.bias) have a true gradient of zero: Adam turns rounding noise into full-size steps,
 *   so each side moves by up to ~lr per step in a direction set by noise; the two runs can move
 *   apart by 2 x lr x steps = 1.2e-3 (measured: up to 7.9e-4 for G model.4.bias).
 * - m and v: 1e-3 relative with a floor of 5e-2 x the tensor's max (gradients agree to float32
 *   summation error over up to 12544 terms; measured worst 7e-6 of the scale). Exception: D's
 *   first conv sits before a LeakyReLU whose input, on MNIST's flat background, is one value
 *   per channel shared by hundreds of positions; if that value is within rounding of 0, its
 *   derivative (1 or 0.2) differs between implementations for all of them at once (seen on
 *   llvmpipe at step 3: 1.2% of the bias moment's scale). Up to 2% of a tensor's elements may
 *   then differ by up to 5% of its scale.
 * - G's Linear weight (g.model.0.weight) is the one tensor where that amplification shows in
 *   single elements: its gradient comes through BatchNorm1d's backward over a batch of
 *   8, which subtracts nearly equal sums, so a few of its 627,200 gradients are within
 *   rounding of zero and Adam turns their noise into up to a full step per step, as for the
 *   zero-gradient biases. Which elements, and by how much, depends on every summation order
 *   upstream (measured worst: 2.1e-5 with explicit convolutions, 3.7e-5 all implicit, 6.5e-5 with
 *   `auto`, always one of the same few elements). Up to 1e-4 of its elements (62) may exceed
 *   the parameter bound, each by at most 2 x lr x steps.
 * - BN running stats: 1e-4 relative, floor 1e-3, plus what the noisy pre-BN biases above feed
 *   into running_mean: momentum 0.1 x (bias gap <= 2 lr t before step t) summed over the
 *   forward passes, at most 0.1 x 4e-4 x (0 + 1 + 2) x 3 passes (D) = 3.6e-4; measured 3.7e-6.
 */
/** The biases right before a BatchNorm: G's two, and D's model.2 where D keeps its BatchNorm (under --d-norm none it has a true gradient). */
function zeroGradBiases(trainer: GanTrainer): string[] {
  const dBatchNorm = trainer.D.namedStateSpecs().some((spec) => spec.name === 'model.3.running_mean');
  return ['g.model.0.bias', 'g.model.4.bias', ...(dBatchNorm ? ['d.model.2.bias'] : [])];
}
export const TOL: Record<string, Tolerance> = {
  param: { rtol: 1e-5, floor: 0, atol: 5e-5 },
  moment: { rtol: 1e-3, floor: 5e-2 },
  running: { rtol: 1e-4, floor: 1e-3, atol: 3.6e-4 },
};

/** Checks both models of `trainer` after `steps` steps against `ref(key)` (keys `g.model.0.weight`, `d....exp_avg`, ...). */
export async function expectStateMatches(g: Gpu, trainer: GanTrainer, ref: (key: string) => Float32Array, steps: number, what: string): Promise<void> {
  const zeroGrad = zeroGradBiases(trainer);
  const check = async (prefix: 'g' | 'd', model: GanTrainer['G']) => {
    for (const spec of model.namedParamSpecs()) {
      const key = `${prefix}.${spec.name}`;
      const pairs: Array<[string, 'param' | 'adam_m' | 'adam_v', Tolerance]> = [
        [key, 'param', TOL.param!],
        [`${key}.exp_avg`, 'adam_m', TOL.moment!],
        [`${key}.exp_avg_sq`, 'adam_v', TOL.moment!],
      ];
      for (const [refKey, role, tol] of pairs) {
        const got = (await g.read(model.params.view(role, spec.name))) as Float32Array;
        if (zeroGrad.includes(key)) {
          // |error| <= 2 x lr x steps for the parameter; its moments are rounding noise near 0.
          const bound = role === 'param' ? 2 * 2e-4 * steps : role === 'adam_m' ? 1e-3 : 1e-6;
          const r = ref(refKey);
          const worst = got.reduce((w, v, i) => Math.max(w, Math.abs(v - r[i]!)), 0);
          expect(worst, `${refKey} (true gradient 0)`).toBeLessThanOrEqual(bound);
        } else if (key === 'g.model.0.weight' && role === 'param') {
          const r = ref(refKey);
          const scale = r.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          expect(compareMostlyClose(got, r, tol, (2 * 2e-4 * steps) / scale, Math.floor(1e-4 * got.length)), `${what} ${refKey}`).toBeNull();
        } else if (key.startsWith('d.model.0.')) {
          const outliers = Math.ceil(0.02 * got.length);
          expect(compareMostlyClose(got, ref(refKey), tol, 5e-2, outliers), `${what} ${refKey}`).toBeNull();
        } else {
          expect(compareClose(got, ref(refKey), tol), `${what} ${refKey}`).toBeNull();
        }
      }
    }
    for (const spec of model.namedStateSpecs()) {
      const got = (await g.read(model.state.view('state', spec.name))) as Float32Array;
      expect(compareClose(got, ref(`${prefix}.${spec.name}`), TOL.running!), `${prefix}.${spec.name}`).toBeNull();
    }
  };
  await check('g', trainer.G);
  await check('d', trainer.D);
}
