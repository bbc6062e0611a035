/**
 * The page's URL parameters (used by the tests, handy for demos), each checked with the
 * library's own checks like the CLI's flags: batch, seed, steps (stop after), refresh (grid every
 * N steps), logEvery, checkpointEvery, conditional (projection or acgan), the training settings
 * of PAGE_SETTINGS under their flags' names (`lr`, `lr-d`, `loss`, `real-label`, `tune`, `conv`...,
 * src/train/settings.ts), and the switches data (base URL of the IDX files), autostart=1 and
 * shipped=0 (no shipped generator drawn on opening).
 */
import { checkChoice, checkInt, numberFromText } from '../src/config/checks.js';
import { HEADS } from '../src/shaders/conditional.js';
import { REFERENCE_CONFIG, settingsFromParams, type SettingKey } from '../src/train/settings.js';

/** The training settings a URL may set (the form sets the model, its size and width, batch and seed). */
export const PAGE_SETTINGS: readonly SettingKey[] = ['lr', 'lrD', 'beta1', 'beta2', 'init', 'loss', 'realLabel', 'ema', 'lrDecayFrom', 'epochs', 'tune', 'matmul', 'conv'];

const params = new URLSearchParams(location.search);

/** An integer URL parameter, checked like the CLI's flags (`min` and up). */
function intParam(name: string, fallback: number, min = 1): number {
  const v = params.get(name);
  return v === null ? fallback : checkInt(numberFromText(v), name, min, undefined, v);
}

export type PageSettings = ReturnType<typeof readSettings>;

/** The run's settings from the URL; throws the check's message on the first bad value. */
export function readSettings() {
  const training = settingsFromParams(params, PAGE_SETTINGS);
  return {
    tune: training.tune ?? REFERENCE_CONFIG.tune,
    batch: intParam('batch', 64),
    seed: intParam('seed', 0, 0),
    maxSteps: params.has('steps') ? intParam('steps', 0) : null,
    refresh: intParam('refresh', 10),
    logEvery: intParam('logEvery', 5),
    checkpointEvery: intParam('checkpointEvery', 100),
    conditional: params.has('conditional') ? checkChoice(params.get('conditional')!, 'conditional', HEADS) : null,
    /** The URL's training settings, over the reference's configuration or a stored run's (as --resume takes flags). */
    training,
  };
}

/** Where MNIST's IDX files are served. */
export const mnistBaseUrl = () => params.get('data') ?? './data/';

export const autostart = () => params.get('autostart') === '1';

/** The shipped conditional generator drawn on opening (shipped=0: not, e.g. for a page that only trains). */
export const drawShipped = () => params.get('shipped') !== '0';
