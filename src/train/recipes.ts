/**
 * Training recipes for `train --recipe`: named sets of defaults (explicit flags still win). Each
 * setting's row in src/train/settings.ts holds the recipes' values; this file says why.
 * `reference` is the notebook, bit for bit. `improved` changes three things, chosen from the
 * literature and measured here with `npm run eval` (docs/quality.md):
 *  - the DCGAN paper's initialisation, N(0, 0.02) weights and N(1, 0.02) BN scales
 *    (Radford et al. 2015), instead of PyTorch's default fan-in uniform;
 *  - one-sided label smoothing: D's target for real images 0.9 instead of 1 (Salimans et al.
 *    2016, "Improved techniques for training GANs"), which keeps D from growing overconfident
 *    on real digits and starving G of gradient;
 *  - two learning rates (Heusel et al. 2017, "GANs trained by a two time-scale update rule"):
 *    G at 4e-4 and D at 1e-4 instead of 2e-4 for both. TTUR's usual direction is the opposite
 *    (a faster D); here a faster D measured worse and a slower one better, and G's doubled
 *    rate is what moved the one-epoch score.
 * `improved` was chosen on MNIST, and is for data without classes; on colour icons it is also
 * below the reference at every length measured (1,000 to 5,000 steps, two seeds).
 * `classes` is `improved` with G and D conditioned on the data's classes (projection head,
 * Miyato & Koyama 2018): knowing the class lets G spread over every class from the start instead
 * of finding them by trial. Conditioning was the one change that beat the reference on every data
 * set measured, and on the improved settings it scored lower than on the reference's on MNIST
 * and Fashion-MNIST and level on colour icons (docs/quality.md, "Recipes for other data"). It
 * needs class subfolders (or MNIST's and Fashion-MNIST's labels) and refuses a folder without them.
 */
import { RECIPE_NAMES, recipeValues, type Recipe } from './settings.js';

export { RECIPE_NAMES, type Recipe };

/** Each recipe's values, from the settings table. */
export const RECIPES = Object.fromEntries(RECIPE_NAMES.map((r) => [r, recipeValues(r)])) as Record<Recipe, ReturnType<typeof recipeValues>>;
