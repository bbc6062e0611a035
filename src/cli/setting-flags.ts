/**
 * Training settings as CLI flags: each row of src/train/settings.ts becomes its flag (and alias),
 * with the row's parse, help and shown default, so --help, parsing and docs/cli.md follow the table.
 */
import { SETTINGS, formatSetting, type Setting, type SettingKey, type TrainConfig } from '../train/settings.js';
import { list, parseFlags, type Flag } from './flags.js';
import { UsageError } from './args.js';

/** A flag that sets a setting. */
export type SettingFlag<K extends SettingKey> = Flag<TrainConfig[K]> & { setting: K };

/** Setting `key`'s flag (`help` replaces the row's text, e.g. for another command's wording). */
export function settingFlag<K extends SettingKey>(key: K, o: { help?: string; shownDefault?: string } = {}): SettingFlag<K> {
  const s = SETTINGS[key] as Setting<TrainConfig[K]>;
  // A codec without a placeholder (on or off) makes a flag without a value.
  return {
    setting: key,
    ...(s.codec.arg ? { arg: s.codec.arg } : {}),
    help: o.help ?? s.help,
    ...(s.codec.choices && s.codec.arg ? { choices: s.codec.choices } : {}),
    ...(s.env ? { env: s.env } : {}),
    shownDefault: o.shownDefault ?? s.shownDefault ?? (s.codec.arg ? formatSetting(key, s.default as TrainConfig[K]) : ''),
    parse: (text, source) => s.codec.parse(text, source),
  };
}

/** A comma-separated list of a setting's values (bench's rows), defaulting to the row's default. */
export function settingListFlag<K extends SettingKey>(key: K, help: string): Flag<Array<TrainConfig[K]>> & { default: Array<TrainConfig[K]> } {
  const s = SETTINGS[key] as Setting<TrainConfig[K]>;
  const item = { ...settingFlag(key), help: '' };
  return list(item, help, { default: [s.default as TrainConfig[K]], shownDefault: formatSetting(key, s.default as TrainConfig[K]) });
}

/**
 * The flags of every setting listed in --help's `section` (and their aliases), in the table's
 * order, the first carrying the section's heading unless `headed` is false.
 */
export function sectionFlags(section: Setting<unknown>['section'], headed = true): Record<string, Flag<unknown> & { setting: SettingKey }> {
  const out: Record<string, Flag<unknown> & { setting: SettingKey }> = {};
  for (const [key, s] of Object.entries(SETTINGS) as Array<[SettingKey, Setting<unknown>]>) {
    if (s.section !== section || !s.flag) continue;
    const flag: Flag<unknown> & { setting: SettingKey } = settingFlag(key);
    if (headed && Object.keys(out).length === 0) flag.section = section;
    out[s.flag] = flag;
    if (s.alias) out[s.alias.flag] = { ...flag, help: s.alias.help, section: undefined };
  }
  return out;
}

/** Settings bench sets for every row from its own flags (the model's shape, its data, the batch). */
const BENCH_OWN: readonly SettingKey[] = ['batchSize', 'arch', 'imageSize', 'channels', 'latentDim', 'ngf', 'ndf'];

/** One row of bench's --variants: the text as given and the settings it sets. */
export interface Variant {
  text: string;
  settings: Partial<TrainConfig>;
}

/**
 * Train's model-and-optimiser flags (`--loss hinge --spectral-norm`) as the settings they set,
 * parsed by the same table as train's; the empty text sets none (the reference).
 */
export function variantOf(text: string, source: string): Variant {
  const table = sectionFlags('Model and optimiser', false);
  let parsed: ReturnType<typeof parseFlags<typeof table>>;
  try {
    parsed = parseFlags(table, text.trim().split(/\s+/).filter(Boolean));
  } catch (err) {
    throw new UsageError(`${source}: "${text.trim()}": ${(err as Error).message} (a variant is train's model and optimiser flags)`);
  }
  const shaping = [...parsed.given].find((flag) => BENCH_OWN.includes(table[flag]!.setting));
  if (shaping) throw new UsageError(`${source}: "${text.trim()}": --${shaping} sets the model or batch every row shares; give it to bench itself`);
  return { text: text.trim(), settings: Object.fromEntries([...parsed.given].map((flag) => [table[flag]!.setting, parsed.values[flag]])) as Partial<TrainConfig> };
}
