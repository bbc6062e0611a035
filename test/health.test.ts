/** The run's health checks on made-up loss curves: when each warning is said, once, and what it names. */
import { describe, expect, it } from 'vitest';
import { COLLAPSE_SPREAD_BELOW, D_WINS, RunHealth, type LossPoint } from '../src/train/health.js';

/** Logged steps every `every` steps from `from`, with D's and G's losses from the functions of the step. */
const rows = (from: number, count: number, every: number, d: (s: number) => number, g: (s: number) => number): LossPoint[] =>
  Array.from({ length: count }, (_, i) => {
    const step = from + i * every;
    return { step, d_loss: d(step), g_loss: g(step) };
  });

const said = (h: RunHealth, points: LossPoint[]) => points.flatMap((p) => h.observe(p) ?? []);

describe('D wins', () => {
  it('is said once D has been near zero for the whole stretch while G climbs, naming the evidence and what to try', () => {
    const h = new RunHealth();
    const healthy = said(h, rows(20, 50, 20, () => 0.6, () => 2));
    expect(healthy).toEqual([]);
    // From step 1020 on, D's loss 0.02 and G's climbing 4 -> 9: warned when the stretch spans 200 steps.
    const failing = said(h, rows(1020, 30, 20, () => 0.02, (s) => 4 + (s - 1020) / 100));
    expect(failing).toHaveLength(1);
    expect(failing[0]!.step).toBe(1020 + D_WINS.steps);
    expect(failing[0]!.kind).toBe('d-wins');
    expect(failing[0]!.message).toBe('D is winning: Loss_D under 0.1 for the last 200 steps while Loss_G rose from 4.00 to 6.00, so G learns little; try a lower --lr-d than --lr (--recipe improved), --recipe classes where the data has classes, or --diffaug color,translation,cutout on a long run over few images');
  });

  it('needs the stretch unbroken, long enough in steps and in rows, and G climbing', () => {
    // A dip that recovers before 200 steps.
    expect(said(new RunHealth(), [...rows(20, 9, 20, () => 0.05, (s) => s), ...rows(200, 1, 20, () => 0.5, () => 1), ...rows(220, 9, 20, () => 0.05, (s) => s)])).toEqual([]);
    // 200 steps but in 3 rows (log every 100).
    expect(said(new RunHealth(), rows(100, 3, 100, () => 0.01, (s) => s))).toEqual([]);
    // D near zero, G's loss falling: not this failure.
    expect(said(new RunHealth(), rows(20, 30, 20, () => 0.01, (s) => 10 - s / 100))).toEqual([]);
    // A NaN loss is not "under 0.1" (the run loop stops on it with its own message).
    expect(said(new RunHealth(), rows(20, 30, 20, () => NaN, (s) => s))).toEqual([]);
  });

  it('is said again only after the run recovered and D wins again', () => {
    const h = new RunHealth();
    const failing = () => rows(0, 20, 20, () => 0.01, (s) => s);
    expect(said(h, failing())).toHaveLength(1);
    expect(said(h, failing())).toHaveLength(0); // still the same episode (steps restart, nothing recovered)
    h.observe({ step: 400, d_loss: 0.7, g_loss: 1 });
    expect(said(h, failing())).toHaveLength(1);
  });
});

describe('collapse', () => {
  it('is said when the spread fell under a quarter of the real images and under half its best, once per episode', () => {
    const h = new RunHealth();
    // A young G spreads little and climbs: never collapse (the reference recipe's first 300 steps on MNIST).
    for (const [step, spread] of [[50, 0.034], [100, 0.098], [150, 0.233], [200, 0.349]] as const) expect(h.observeSpread(step, spread)).toBeNull();
    expect(h.observeSpread(250, 0.2)).toBeNull(); // under 25% but not under half of 34.9%
    expect(h.observeSpread(300, COLLAPSE_SPREAD_BELOW)).toBeNull();
    const w = h.observeSpread(350, 0.031);
    expect(w).toEqual({
      kind: 'collapse',
      step: 350,
      message: "samples are collapsing: their spread on the evaluator's features fell to 3.1% of the real images' (from 34.9% at best), so G draws a few images whatever z is; try --diffaug color,translation,cutout, --loss hinge --spectral-norm, or a lower --lr-d; an earlier checkpoint may be the better generator",
    });
    expect(h.observeSpread(400, 0.02)).toBeNull();
    expect(h.observeSpread(450, 0.8)).toBeNull();
    expect(h.observeSpread(500, 0.1)?.step).toBe(500);
  });
});
