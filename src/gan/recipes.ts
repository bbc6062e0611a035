/**
 * Training recipes: named sets of defaults for `train --recipe` (explicit flags still win).
 * `reference` is the notebook, bit for bit. `improved` changes two things, chosen from the
 * literature and measured here with `npm run eval` (README, "Sample quality"):
 *  - the DCGAN paper's initialisation, N(0, 0.02) weights and N(1, 0.02) BN scales
 *    (Radford et al. 2015), instead of PyTorch's default fan-in uniform;
 *  - one-sided label smoothing: D's target for real images 0.9 instead of 1 (Salimans et al.
 *    2016, "Improved techniques for training GANs"), which keeps D from growing overconfident
 *    on real digits and starving G of gradient.
 */
import type { TrainConfig } from './trainer.js';

export const RECIPES = {
  reference: {},
  improved: { init: 'dcgan', realLabel: 0.9 },
} as const satisfies Record<string, Partial<TrainConfig>>;

export type Recipe = keyof typeof RECIPES;
export const RECIPE_NAMES = Object.keys(RECIPES) as Recipe[];
