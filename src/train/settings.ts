/**
 * Every training setting, declared once: its key (TrainConfig's field), flag, metadata key,
 * reference default, value check, help text, what --resume allows and the recipes' values. The
 * TrainConfig type, REFERENCE_CONFIG, the checks, the checkpoint metadata codec
 * (src/checkpoints/run-state.ts), the CLI's flags and --help (src/cli/train.ts, bench.ts), the
 * page's URL parameters and the recipes all come from this table. A new setting is one row here
 * plus the code that uses its value.
 *
 * The rows' order is the checkpoint metadata's order (kept, so checkpoints stay byte-identical)
 * and --help's order within each section.
 */
import { boolCodec, choiceCodec, subsetCodec, intChoiceCodec, intCodec, mibCodec, numCodec, orNone, type Codec } from '../config/codec.js';
import { ARCHS, D_NORMS, INIT_SCHEMES, isDcgan, type Arch } from '../model/models.js';
import { D_PASSES } from '../model/limits.js';
import { LOSS_NAMES } from './gan-loss.js';
import { DEFAULT_HEAD, HEADS } from '../shaders/conditional.js';
import { AUGMENTS, type Augment } from '../shaders/augment.js';
import { MATMUL_VARIANTS } from '../shaders/matmul.js';
import { CONV_PATHS } from '../layers/plan.js';
import { TUNE_MODES } from '../layers/matmul-tuner.js';
import { baseRates } from './lr-schedule.js';

/** The recipes' names (`train --recipe`); `reference` is the table's defaults, the notebook bit for bit. */
export const RECIPE_NAMES = ['reference', 'improved', 'classes'] as const;
export type Recipe = (typeof RECIPE_NAMES)[number];

/** Where a resumed run stands, for settings whose change is allowed only before they take effect. */
export interface RunPosition {
  epoch: number;
  batchIndex: number;
}

/** A resumed run's saved config, loosely typed (the rows are what defines TrainConfig). */
type Saved = Readonly<Record<string, unknown>>;

/**
 * What --resume allows: `kept` (a given value must equal the saved one), `free` (may change), or
 * a rule returning why the change is refused, as the end of "--flag V contradicts the checkpoint
 * in DIR..." (null: allowed).
 */
export type ResumeRule<T> = 'kept' | 'free' | ((saved: Saved, wanted: T, at: RunPosition) => string | null);

export interface Setting<T> {
  readonly codec: Codec<T>;
  /** The reference's value (the notebook's, or the CLI's default for engine settings). */
  readonly default: NoInfer<T>;
  /** --help's paragraph. */
  readonly help: string;
  /** The CLI flag (without --); absent: the setting has no flag of its own (see `conditional`). */
  readonly flag?: string;
  /** A second flag name for the same setting (pytorch/examples' spelling). */
  readonly alias?: { flag: string; help: string };
  /** The --help section it is listed under. */
  readonly section: 'Model and optimiser' | 'Data' | 'GPU';
  /** How the default reads in --help, when not the codec's text of `default`. */
  readonly shownDefault?: string;
  /** An environment variable read when the flag is absent. */
  readonly env?: string;
  /** The checkpoint metadata key; `when` false: not written (older files lack it; read as `default`). */
  readonly meta?: { key: string; when?: (c: Saved) => boolean };
  readonly resume: ResumeRule<NoInfer<T>>;
  /** The recipes' values, where a recipe differs from the reference. */
  readonly recipes?: Partial<Record<Recipe, NoInfer<T>>>;
  /** A value as the flags that set it, for a row without a flag of its own (see `conditional`). */
  readonly asFlags?: (value: NoInfer<T>) => string;
}

const setting = <T>(s: Setting<T>): Setting<T> => s;

/** Checkpoints of the reference's 1x28x28 family do not name their shape; others do. */
const shapeNamed = (c: Saved) => !(c.arch === 'reference' && c.channels === 1 && c.imageSize === 28);
const conditionalOnly = (c: Saved) => c.conditional !== 'none';

/** Exact only while no step so far ran under either schedule's decay. */
function lrDecayRule(saved: Saved, wanted: number | null, at: RunPosition): string | null {
  const before = (e: number | null) => e === null || at.epoch < e || (at.epoch === e && at.batchIndex === 0);
  const was = saved.lrDecayFrom as number | null;
  return before(was) && before(wanted) ? null : ` (${was ?? 'none'}), which is at epoch ${at.epoch} batch ${at.batchIndex}: past the decay's start`;
}

export const SETTINGS = {
  latentDim: setting({ codec: intCodec(1), default: 100, flag: 'latent-dim', alias: { flag: 'nz', help: "the same as --latent-dim, under pytorch/examples' name" }, section: 'Model and optimiser', help: "latent size (pytorch/examples' --nz)", meta: { key: 'latent_dim' }, resume: 'kept' }),
  batchSize: setting({ codec: intCodec(1), default: 64, flag: 'batch-size', section: 'Model and optimiser', help: 'images per batch (the last batch of an epoch is kept, shorter)', meta: { key: 'batch_size' }, resume: 'kept' }),
  epochs: setting({ codec: intCodec(1), default: 20, flag: 'epochs', section: 'Model and optimiser', help: 'epochs', meta: { key: 'epochs' }, resume: 'free' }),
  lr: setting({ codec: numCodec({ gt: 0 }), default: 2e-4, flag: 'lr', section: 'Model and optimiser', help: "Adam learning rate, G's and D's unless --lr-d", meta: { key: 'lr' }, resume: 'kept', recipes: { improved: 4e-4, classes: 4e-4 } }),
  lrD: setting({
    codec: orNone(numCodec({ gt: 0 }), null, 'same'), default: null, flag: 'lr-d', section: 'Model and optimiser', shownDefault: '--lr',
    help: "D's learning rate, when it should differ from G's (two time scales); same: G's",
    meta: { key: 'lr_d' },
    // A rate equal to G's is the same run as "same".
    resume: (saved, wanted): string | null => {
      const was = baseRates(saved as { lr: number; lrD: number | null }).d;
      return baseRates({ lr: saved.lr as number, lrD: wanted }).d === was ? null : `, which has ${was}`;
    },
    recipes: { improved: 1e-4, classes: 1e-4 },
  }),
  beta1: setting({ codec: numCodec({ gt: 0, lt: 1 }), default: 0.5, flag: 'beta1', section: 'Model and optimiser', help: 'Adam beta1', meta: { key: 'beta1' }, resume: 'kept' }),
  beta2: setting({ codec: numCodec({ gt: 0, lt: 1 }), default: 0.999, flag: 'beta2', section: 'Model and optimiser', help: 'Adam beta2', meta: { key: 'beta2' }, resume: 'kept' }),
  seed: setting({ codec: intCodec(0), default: 0, flag: 'seed', section: 'Model and optimiser', help: "seed for init, shuffling and noise. It makes our runs repeatable on the same adapter; it does not reproduce PyTorch's random numbers", meta: { key: 'seed' }, resume: 'kept' }),
  init: setting({ codec: choiceCodec(INIT_SCHEMES), default: 'pytorch', flag: 'init', section: 'Model and optimiser', shownDefault: 'pytorch; dcgan with --arch dcgan', help: "PyTorch's default init, or the DCGAN paper's N(0, 0.02)", meta: { key: 'init' }, resume: 'kept', recipes: { improved: 'dcgan', classes: 'dcgan' } }),
  loss: setting({ codec: choiceCodec(LOSS_NAMES), default: 'bce', flag: 'loss', section: 'Model and optimiser', help: "the GAN loss (src/train/gan-loss.ts): BCELoss after D's Sigmoid as the reference, fused BCE-with-logits on D's logit, or hinge on D's logit (D: relu(1 - D(x)) + relu(1 + D(G(z))), G: -D(G(z)); SNGAN's)", meta: { key: 'loss' }, resume: 'kept' }),
  realLabel: setting({ codec: numCodec({ gt: 0, le: 1 }), default: 1, flag: 'real-label', section: 'Model and optimiser', help: "D's target for real images (0.9 is one-sided label smoothing)", meta: { key: 'real_label' }, resume: 'kept', recipes: { improved: 0.9, classes: 0.9 } }),
  ema: setting({ codec: orNone(numCodec({ gt: 0, lt: 1 }, 'DECAY'), 0, '0'), default: 0, flag: 'ema', section: 'Model and optimiser', shownDefault: 'none', help: "also keep an exponential moving average of G's weights (e.g. 0.999), saved as generator_ema.safetensors beside each checkpoint (sample/eval --ema use it)", meta: { key: 'ema' }, resume: 'kept' }),
  lrDecayFrom: setting({
    codec: orNone(intCodec(0, 'E'), null, 'none'), default: null, flag: 'lr-decay-from', section: 'Model and optimiser', shownDefault: 'none',
    help: "from epoch E on, both learning rates fall linearly per step to 0 at the end of --epochs (pix2pix's schedule); none: constant, as the reference. A resumed run may add or move it while its step is still before the decay's start",
    meta: { key: 'lr_decay_from' },
    resume: lrDecayRule,
  }),
  // Set by --conditional and --head (src/cli/train.ts), the page's model menu: no flag of its own.
  conditional: setting({ codec: choiceCodec(['none', ...HEADS] as const), default: 'none', section: 'Model and optimiser', help: "class-conditional G and D with this head for D (src/shaders/conditional.ts), or none: the reference's unconditional pair", meta: { key: 'conditional', when: conditionalOnly }, resume: 'kept', recipes: { classes: 'projection' },
    asFlags: (head) => (head === 'none' ? '' : head === DEFAULT_HEAD ? '--conditional' : `--conditional --head ${head}`) }),
  // The data's class count (the data's labels are 0 .. classes - 1): no flag.
  classes: setting({ codec: intCodec(2), default: 10, section: 'Model and optimiser', help: 'classes of a conditional model', meta: { key: 'classes', when: conditionalOnly }, resume: 'kept' }),
  arch: setting({ codec: choiceCodec(ARCHS), default: 'reference', flag: 'arch', section: 'Model and optimiser', help: "the model: reference, the notebook's pair (28x28, or 32x32 with --image-size 32); dcgan, pytorch/examples' dcgan (at 64x64 its model exactly: five transposed convolutions; widths --ngf, --ndf; its weights_init, i.e. --init dcgan), at 32, 64, 128 or 256 pixels (--image-size), one stride-2 block per doubling; dcgan64: dcgan at 64", meta: { key: 'arch', when: shapeNamed }, resume: 'kept' }),
  channels: setting({ codec: intChoiceCodec([1, 3]), default: 1, flag: 'channels', section: 'Model and optimiser', shownDefault: '3 if any image of --data has colour, else 1', help: "image channels: 1 grey, 3 RGB (colour images are made grey with Pillow's luma; alpha is composited over black)", meta: { key: 'channels', when: shapeNamed }, resume: 'kept' }),
  imageSize: setting({ codec: intCodec(1, 'PX'), default: 28, flag: 'image-size', section: 'Model and optimiser', shownDefault: "the --arch's first size", help: "the models' image side; the data is resized to it (reference: 28 or 32; dcgan: 32, 64, 128 or 256)", meta: { key: 'image_size', when: shapeNamed }, resume: 'kept' }),
  ngf: setting({ codec: intCodec(1), default: 64, flag: 'ngf', section: 'Model and optimiser', help: "dcgan: G's base width (its layers have size/8 ... 2, 1 times it: 8, 4, 2, 1 at 64)", meta: { key: 'ngf', when: (c) => isDcgan(c.arch as Arch) }, resume: 'kept' }),
  ndf: setting({ codec: intCodec(1), default: 64, flag: 'ndf', section: 'Model and optimiser', help: "dcgan: D's base width (1, 2 ... size/8 times it: 1, 2, 4, 8 at 64)", meta: { key: 'ndf', when: (c) => isDcgan(c.arch as Arch) }, resume: 'kept' }),
  shardBytes: setting({
    codec: orNone(mibCodec(), null, 'all'), default: null, flag: 'shard-mib', section: 'Data', shownDefault: 'all on the GPU where they fit one buffer binding, else the largest shards that do',
    help: 'stream the images to the GPU in shards of at most X MiB (fractions too), two resident at a time, the next uploaded while the current one trains: the same results as all at once. An image folder read from the decoded cache then stays on disk, read shard by shard: the host holds two shards, not the set',
    resume: 'free',
  }),
  matmul: setting({ codec: choiceCodec(['auto', ...MATMUL_VARIANTS] as const), default: 'auto', flag: 'matmul', section: 'GPU', env: 'WEBGPU_DCGAN_MATMUL', shownDefault: '$WEBGPU_DCGAN_MATMUL or auto', help: 'matmul variant: auto picks the fastest that fits each shape', resume: 'free' }),
  tune: setting({
    codec: choiceCodec(TUNE_MODES, 'MODE'), default: 'quick', flag: 'tune', section: 'GPU', env: 'WEBGPU_DCGAN_TUNE', shownDefault: '$WEBGPU_DCGAN_TUNE or quick',
    help: 'how auto picks a matmul variant (and an implicit conv GEMM\'s register block) per shape: timed once per adapter and shape and cached (quick: a short list; full: every variant), or a fixed table (off). The cache is $WEBGPU_DCGAN_TUNE_CACHE or ~/.cache/webgpu-dcgan/matmul-tune.json',
    resume: 'free',
  }),
  conv: setting({
    codec: choiceCodec(CONV_PATHS, 'PATH'), default: 'auto', flag: 'conv', section: 'GPU', env: 'WEBGPU_DCGAN_CONV', shownDefault: '$WEBGPU_DCGAN_CONV or auto', resume: 'free',
    help: "convolutions as implicit GEMMs that read and write NCHW tensors, or as im2col/col2im + matmul (4x the memory per image); auto: implicit except the 1-channel layers, where explicit is faster and costs no extra memory, and on CPU adapters the weight gradients through im2col where its buffer fits a binding (faster there; on llvmpipe that col also carries Conv2d's forward and ConvTranspose2d's dx as GEMMs), except at batches that are multiples of 4, where the weight gradients (and on llvmpipe all three products) read batch-innermost copies of the input and dy instead (vec4 loads along the batch, no col)",
  }),
  diffaug: setting({
    codec: subsetCodec(AUGMENTS), default: [] as readonly Augment[], flag: 'diffaug', section: 'Model and optimiser', meta: { key: 'diffaug', when: (c) => Array.isArray(c.diffaug) && c.diffaug.length > 0 }, resume: 'kept',
    help: "differentiable augmentation (Zhao et al. 2020, DiffAugment) of every image D sees, real and fake, in D's and G's passes, with gradients through it to G: color (brightness, saturation, contrast), translation (up to 1/8 of the side), cutout (half the side), each image with draws of its own from the run's seed and step",
  }),
  spectralNorm: setting({
    codec: boolCodec(), default: false, flag: 'spectral-norm', section: 'Model and optimiser', meta: { key: 'spectral_norm', when: (c) => c.spectralNorm === true }, resume: 'kept',
    help: "spectral normalisation of D's convolution and linear weights (Miyato et al. 2018), as torch.nn.utils.spectral_norm: one power iteration per training forward of D, so D's real and fake passes run separately; checkpoints hold weight_orig, weight_u and weight_v",
  }),
  dNorm: setting({
    codec: choiceCodec(D_NORMS), default: 'batch', flag: 'd-norm', section: 'Model and optimiser', meta: { key: 'd_norm', when: (c) => c.dNorm !== 'batch' }, resume: 'kept',
    help: "D's normalisation after each inner convolution: batch, BatchNorm2d as the reference and DCGAN; or none, SNGAN's D (with --spectral-norm), an nn.Identity in BatchNorm's place so the other layers keep their state_dict keys",
  }),
  // bench --d-passes lists it; train always takes auto.
  dPasses: setting({ codec: choiceCodec(['auto', ...D_PASSES] as const), default: 'auto', section: 'GPU', help: "D's real and fake passes as one pass over both halves (merged) or as two (separate); auto: merged unless only separate passes fit the adapter's binding limit", resume: 'free' }),
};

export type SettingKey = keyof typeof SETTINGS;
type ValueOf<S> = S extends Setting<infer T> ? T : never;
/** A training run's configuration: one field per row of SETTINGS. */
export type TrainConfig = { -readonly [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]> };

const ROWS = Object.entries(SETTINGS) as Array<[SettingKey, Setting<unknown>]>;

/** The reference's configuration: every row's default. */
export const REFERENCE_CONFIG: TrainConfig = Object.fromEntries(ROWS.map(([k, s]) => [k, s.default])) as TrainConfig;

/** A recipe's values (only where it differs from the reference). */
export function recipeValues(recipe: Recipe): Partial<TrainConfig> {
  return Object.fromEntries(ROWS.flatMap(([k, s]) => (s.recipes && recipe in s.recipes ? [[k, s.recipes[recipe]]] : []))) as Partial<TrainConfig>;
}

/** A recipe as the flags it amounts to (for --help): `--init dcgan --lr 0.0004 ...`. */
export function recipeAsFlags(recipe: Recipe): string {
  const asFlags = (k: SettingKey, s: Setting<unknown>, v: unknown) => (s.asFlags ? s.asFlags(v) : `--${s.flag ?? k} ${s.codec.format(v)}`);
  return ROWS.flatMap(([k, s]) => (s.recipes && recipe in s.recipes ? [asFlags(k, s, s.recipes[recipe])] : [])).join(' ');
}

/** Rejects a config with a field out of its range (NaN and Infinity included), naming the field. */
export function checkSettings(c: TrainConfig): void {
  for (const [k, s] of ROWS) s.codec.check(c[k], k);
}

/** The run configuration as checkpoint metadata, in the rows' order (rows whose `when` is false left out). */
export function settingsToMetadata(c: TrainConfig): Array<[string, string]> {
  return ROWS.flatMap(([k, s]) => (s.meta && (s.meta.when?.(c) ?? true) ? [[s.meta.key, s.codec.format(c[k])] as [string, string]] : []));
}

/**
 * The run configuration a checkpoint's metadata holds, checked as user input is (`source(key)`
 * names the key in messages). A key a file lacks (older versions wrote fewer) takes its row's
 * default, the value those versions trained with.
 */
export function settingsFromMetadata(meta: Readonly<Record<string, string | undefined>>, source: (key: string) => string): Partial<TrainConfig> {
  const out: Record<string, unknown> = {};
  for (const [k, s] of ROWS) {
    if (!s.meta) continue;
    const text = meta[s.meta.key];
    out[k] = text === undefined ? s.default : s.codec.parse(text, source(s.meta.key));
  }
  return out as Partial<TrainConfig>;
}

/**
 * Why --resume refuses `wanted` for setting `key` against the saved config, as the end of
 * "--flag V contradicts the checkpoint in DIR", or null.
 */
export function resumeConflict(key: SettingKey, saved: TrainConfig, wanted: unknown, at: RunPosition): string | null {
  const s = SETTINGS[key] as Setting<unknown>;
  if (s.resume === 'free') return null;
  if (s.resume === 'kept') return wanted === saved[key] ? null : `, which has ${s.codec.format(saved[key])}`;
  return s.resume(saved, wanted, at);
}

/**
 * The first of the `given` settings that --resume refuses against the `saved` config (resumeConflict),
 * with its value as text and why, for the caller to name it (the CLI by its flag, the page by its
 * URL parameter); null when the run may resume with all of them over its saved config.
 */
export function resumeRefusal(saved: TrainConfig, given: Partial<TrainConfig>, at: RunPosition): { key: SettingKey; text: string; why: string } | null {
  for (const [key, value] of Object.entries(given) as [SettingKey, unknown][]) {
    const why = resumeConflict(key, saved, value, at);
    if (why !== null) return { key, text: formatSetting(key, value as never), why };
  }
  return null;
}

/** The setting's value as text (a flag's or a URL parameter's form). */
export function formatSetting<K extends SettingKey>(key: K, value: TrainConfig[K]): string {
  return (SETTINGS[key].codec as Codec<TrainConfig[K]>).format(value);
}

/**
 * Settings given as text by name (the page's URL parameters: `?lr=0.0004&tune=off`), parsed and
 * checked by their rows; other names are left to the caller.
 */
export function settingsFromParams(params: { get(name: string): string | null }, keys: readonly SettingKey[]): Partial<TrainConfig> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const name = paramName(k);
    const text = params.get(name);
    if (text !== null) out[k] = (SETTINGS[k] as Setting<unknown>).codec.parse(text, name);
  }
  return out as Partial<TrainConfig>;
}

/** A setting's name as a URL parameter: its flag's. */
export function paramName(key: SettingKey): string {
  return SETTINGS[key].flag ?? key;
}
