/**
 * Is the run failing? The seed notebook's advice, as checks on what the run already measures:
 * D's loss near zero for a long stretch while G's climbs (D wins and G stops learning), a fake
 * batch far less diverse than the real images on the evaluator's features (collapse), and a loss
 * that is no longer finite (run-loop.ts stops the run; its message says what to try). Each
 * warning names its evidence and what to try, and is said once per episode: it is said again
 * only after the run has recovered and fails again.
 */

export interface HealthWarning {
  kind: 'd-wins' | 'collapse';
  step: number;
  message: string;
}

/** One logged step's losses (a metrics.jsonl row). */
export interface LossPoint {
  step: number;
  d_loss: number;
  g_loss: number;
}

/** When D counts as winning: its loss under `dLossBelow` on `rows` logged steps in a row that span `steps` steps. */
export interface DWinsRule {
  dLossBelow: number;
  rows: number;
  steps: number;
}

/**
 * D's loss (BCE: -log D(x) - log(1 - D(G(z))); hinge: its two margins) under 0.1 means D tells
 * every real image from every fake with confidence above ~0.95; healthy DCGAN runs hover between
 * 0.3 and 1.5. 200 steps is a few hundred of D's updates, long past a passing dip.
 */
export const D_WINS: DWinsRule = { dLossBelow: 0.1, rows: 5, steps: 200 };

/**
 * Collapse: the samples' feature spread (the trace of their covariance over the real images') under
 * this share, and under half of the best this run reached. A young G's spread is low too (3% at step
 * 50 of the reference recipe on MNIST, 45% at step 300, 86% for the notebook's generator after 20
 * epochs), so only a spread that fell is collapse.
 */
export const COLLAPSE_SPREAD_BELOW = 0.25;

// In the order they helped (docs/quality.md): a slower D let G learn where the reference's D won
// (the shapes folder); the classes helped on every data set; DiffAugment balanced D on MNIST-1k but
// raised FD there and on the icons at every length measured (its gains are reported for longer runs).
export const TRY_WHEN_D_WINS = 'try a lower --lr-d than --lr (--recipe improved), --recipe classes where the data has classes, or --diffaug color,translation,cutout on a long run over few images';
export const TRY_WHEN_COLLAPSED = 'try --diffaug color,translation,cutout, --loss hinge --spectral-norm, or a lower --lr-d; an earlier checkpoint may be the better generator';
export const TRY_WHEN_NOT_FINITE = 'try a lower --lr (and --lr-d), --loss bce_logits in place of a Sigmoid then BCE, or --spectral-norm';

export class RunHealth {
  private stretch: LossPoint[] = [];
  private dWinsSaid = false;
  private collapseSaid = false;
  private bestSpread = 0;

  constructor(private readonly rule: DWinsRule = D_WINS) {}

  /** A logged step's losses; a warning the first time D has been winning for a sustained stretch. */
  observe(p: LossPoint): HealthWarning | null {
    if (!(p.d_loss < this.rule.dLossBelow)) {
      this.stretch = [];
      this.dWinsSaid = false;
      return null;
    }
    this.stretch.push(p);
    const first = this.stretch[0]!;
    const span = p.step - first.step;
    if (this.dWinsSaid || this.stretch.length < this.rule.rows || span < this.rule.steps || !(p.g_loss > first.g_loss)) return null;
    this.dWinsSaid = true;
    return {
      kind: 'd-wins',
      step: p.step,
      message: `D is winning: Loss_D under ${this.rule.dLossBelow} for the last ${span} steps while Loss_G rose from ${first.g_loss.toFixed(2)} to ${p.g_loss.toFixed(2)}, so G learns little; ${TRY_WHEN_D_WINS}`,
    };
  }

  /** G's samples' feature spread over the real images' (Quality.spread); a warning when it collapsed. */
  observeSpread(step: number, ratio: number): HealthWarning | null {
    const best = this.bestSpread;
    this.bestSpread = Math.max(best, ratio);
    if (!(ratio < COLLAPSE_SPREAD_BELOW && ratio < best / 2)) {
      this.collapseSaid = false;
      return null;
    }
    if (this.collapseSaid) return null;
    this.collapseSaid = true;
    const pct = (r: number) => `${(100 * r).toFixed(1)}%`;
    return {
      kind: 'collapse',
      step,
      message: `samples are collapsing: their spread on the evaluator's features fell to ${pct(ratio)} of the real images' (from ${pct(best)} at best), so G draws a few images whatever z is; ${TRY_WHEN_COLLAPSED}`,
    };
  }
}
