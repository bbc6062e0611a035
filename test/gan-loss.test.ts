/**
 * The GAN loss as an object (src/train/gan-loss.ts): each term reads D's output and writes its
 * gradient and [loss, mean D probability]. The shipped losses' terms take the reference's targets
 * (D real: realLabel, D fake: 0, G: 1), and a new loss is one object: least squares (LSGAN,
 * Mao et al. 2017) as one ElementLoss handed to targetLoss, written here in a few lines; the
 * shipped hinge as a termsLoss with statements of its own per term. Each checked against a
 * float64 reference, on both adapters. Tolerance: 1e-6 relative to each value's scale (one
 * float32 rounding of terms below 1 in a mean of 16).
 */
import { describe, expect, it } from 'vitest';
import { GAN_LOSSES, targetLoss, termsLoss, type GanLoss } from '../src/train/gan-loss.js';
import { HINGE_D, HINGE_G, type ElementLoss } from '../src/shaders/loss.js';
import { PlanBuilder } from '../src/layers/plan.js';
import { TEST_BACKENDS, useGpu } from './helpers/gpu.js';

const LEAST_SQUARES: ElementLoss = {
  name: 'least_squares',
  input: 'logit',
  wgsl: /* wgsl */ `
  let term = 0.5 * (v - t) * (v - t);
  let pred = 1.0 / (1.0 + exp(-v));
  let dl = v - t;`,
};

/** D's outputs for 16 rows: logits in (-2, 2), or their sigmoids for a loss on probabilities. */
const LOGITS = Float32Array.from({ length: 16 }, (_, i) => Math.fround(Math.sin(i * 1.7) * 2));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Each term's [loss, mean prediction] and gradient, read back. */
async function runTerms(gpu: ReturnType<ReturnType<typeof useGpu>>, loss: GanLoss, out: Float32Array) {
  const plan = new PlanBuilder(gpu);
  const t = gpu.tensor('D output', [out.length, 1], 'f32', out);
  const terms = { dReal: await loss.dReal({ plan, out: t, labels: null, label: 'real' }), dFake: await loss.dFake({ plan, out: t, labels: null, label: 'fake' }), g: await loss.g({ plan, out: t, labels: null, label: 'G' }) };
  gpu.run(plan.dispatches);
  const read = async (x: (typeof terms)['g']) => ({ stats: (await gpu.read(x.stats)) as Float32Array, grad: (await gpu.read(x.grad)) as Float32Array });
  return { dReal: await read(terms.dReal), dFake: await read(terms.dFake), g: await read(terms.g) };
}

function expectClose(got: Float32Array | number[], want: number[], what: string) {
  const scale = Math.max(...want.map(Math.abs), 1e-30);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${what}[${i}]`).toBeLessThanOrEqual(1e-6 * scale);
}

describe.each(TEST_BACKENDS)('GAN losses on %s', (backend) => {
  const gpu = useGpu(backend);

  it('a loss written as one ElementLoss (least squares) trains D toward its targets and G toward 1', async () => {
    const got = await runTerms(gpu(), targetLoss(LEAST_SQUARES)({ realLabel: 0.9 }), LOGITS);
    const n = LOGITS.length;
    for (const [term, target] of [['dReal', 0.9], ['dFake', 0], ['g', 1]] as const) {
      const x = [...LOGITS];
      expectClose(got[term].stats, [x.reduce((a, v) => a + 0.5 * (v - target) ** 2, 0) / n, x.reduce((a, v) => a + sigmoid(v), 0) / n], `${term} stats`);
      expectClose(got[term].grad, x.map((v) => (v - target) / n), `${term} grad`);
    }
  });

  it('a loss with its own statements per term (hinge) is one termsLoss, and refuses a smoothed label', async () => {
    const hinge = GAN_LOSSES.hinge({ realLabel: 1 });
    expect(hinge.dOutput).toBe('logit');
    expect(() => GAN_LOSSES.hinge({ realLabel: 0.9 })).toThrow("real label 0.9 (--real-label, or the 0.9 of --recipe improved and classes): the hinge loss has no target to smooth");
    const got = await runTerms(gpu(), hinge, LOGITS);
    const x = [...LOGITS];
    const n = x.length;
    expectClose(got.dReal.stats.slice(0, 1), [x.reduce((a, v) => a + Math.max(0, 1 - v), 0) / n], 'dReal loss');
    expectClose(got.dReal.grad, x.map((v) => (v < 1 ? -1 / n : 0)), 'dReal grad');
    expectClose(got.dFake.stats.slice(0, 1), [x.reduce((a, v) => a + Math.max(0, 1 + v), 0) / n], 'dFake loss');
    expectClose(got.dFake.grad, x.map((v) => (v > -1 ? 1 / n : 0)), 'dFake grad');
    expectClose(got.g.stats.slice(0, 1), [x.reduce((a, v) => a - v, 0) / n], 'G loss');
    expectClose(got.g.grad, x.map(() => -1 / n), 'G grad');
    expect(() => termsLoss({ dReal: { loss: HINGE_D, target: 1 }, dFake: { loss: HINGE_D, target: -1 }, g: { loss: { ...HINGE_G, input: 'probability' }, target: 0 } })).toThrow('GAN loss: its terms read logit and probability; D has one output');
  });

  it('bce reads probabilities with the reference targets: real realLabel, fake 0, G 1', async () => {
    const loss = GAN_LOSSES.bce({ realLabel: 0.9 });
    expect(loss.dOutput).toBe('probability');
    const p = LOGITS.map((x) => Math.fround(sigmoid(x)));
    const got = await runTerms(gpu(), loss, p);
    const n = p.length;
    for (const [term, target] of [['dReal', 0.9], ['dFake', 0], ['g', 1]] as const) {
      const x = [...p];
      expectClose(got[term].stats.slice(0, 1), [x.reduce((a, v) => a - (target * Math.log(v) + (1 - target) * Math.log(1 - v)), 0) / n], `${term} loss`);
      expectClose(got[term].grad, x.map((v) => (v - target) / (v * (1 - v)) / n), `${term} grad`);
    }
    expect(GAN_LOSSES.bce_logits({ realLabel: 1 }).dOutput).toBe('logit');
  });

  it('refuses a conditional term without the rows labels', async () => {
    const loss = GAN_LOSSES.bce_logits({ realLabel: 1, conditional: { head: 'projection', classes: 3 } });
    const plan = new PlanBuilder(gpu());
    await expect(loss.g({ plan, out: gpu().tensor('D output', [4, 4]), labels: null, label: 'G loss' })).rejects.toThrow("G loss: a conditional loss needs the rows' labels");
  });
});
