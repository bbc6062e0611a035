/**
 * The settings table (src/train/settings.ts) is the one place a training setting is declared:
 * these check that every derived form follows it (the defaults, the checks, the metadata codec,
 * the CLI's flags and --help, the recipes, the page's URL parameters) rather than re-spelling it.
 */
import { describe, expect, it } from 'vitest';
import { REFERENCE_CONFIG, SETTINGS, checkSettings, recipeAsFlags, recipeValues, resumeConflict, resumeRefusal, settingsFromMetadata, settingsFromParams, settingsToMetadata, type SettingKey, type TrainConfig } from '../src/train/settings.js';
import { TRAIN_FLAGS, trainConfig } from '../src/cli/train.js';
import { parseFlags } from '../src/cli/flags.js';

const KEYS = Object.keys(SETTINGS) as SettingKey[];
const config = (args: string[]) => {
  const { values, given } = parseFlags(TRAIN_FLAGS, args);
  return trainConfig(values, given).config;
};

describe('the settings table', () => {
  it('gives every row a default that passes its own check and reads back from its text', () => {
    for (const k of KEYS) {
      const s = SETTINGS[k] as (typeof SETTINGS)[SettingKey] & { codec: { parse(t: string, s: string): unknown; format(v: unknown): string } };
      expect(REFERENCE_CONFIG[k], k).toBe(s.default);
      expect(s.codec.parse(s.codec.format(s.default), k), k).toEqual(s.default);
    }
    expect(() => checkSettings(REFERENCE_CONFIG)).not.toThrow();
  });

  it('refuses a bad value in a config with the field named, as the CLI refuses the flag', () => {
    expect(() => checkSettings({ ...REFERENCE_CONFIG, beta1: 1 })).toThrow('beta1: expected a number in (0, 1), found "1"');
    expect(() => checkSettings({ ...REFERENCE_CONFIG, loss: 'mse' as TrainConfig['loss'] })).toThrow('loss: expected one of bce, bce_logits, hinge, found "mse"');
    expect(() => config(['--beta1', '1'])).toThrow('--beta1: expected a number in (0, 1), found "1"');
  });

  it('makes a flag of every row that has one, with its help and default in --help', () => {
    const flags = TRAIN_FLAGS as Record<string, { setting?: SettingKey; help: string; shownDefault?: string }>;
    for (const k of KEYS) {
      const s = SETTINGS[k] as { flag?: string; help: string };
      if (!s.flag) continue;
      expect(flags[s.flag]?.setting, s.flag).toBe(k);
      expect(flags[s.flag]!.help).toBe(s.help);
    }
    expect(config(['--lr-d', '0.0003', '--nz', '12', '--shard-mib', '0.5'])).toMatchObject({ lrD: 3e-4, latentDim: 12, shardBytes: 2 ** 19 });
    expect(() => config(['--nz', '12', '--latent-dim', '13'])).toThrow('--nz 12 contradicts --latent-dim 13: they are one setting');
  });

  it('writes checkpoint metadata in the rows order, leaving out what the reference pair does not name', () => {
    expect(settingsToMetadata(REFERENCE_CONFIG).map(([k]) => k)).toEqual(['latent_dim', 'batch_size', 'epochs', 'lr', 'lr_d', 'beta1', 'beta2', 'seed', 'init', 'loss', 'real_label', 'ema', 'lr_decay_from']);
    const dcgan: TrainConfig = { ...REFERENCE_CONFIG, arch: 'dcgan64', channels: 3, imageSize: 64, conditional: 'acgan', classes: 3, lrD: 1e-4, lrDecayFrom: 2, ema: 0.999 };
    const meta = Object.fromEntries(settingsToMetadata(dcgan));
    expect(meta).toMatchObject({ lr_d: '0.0001', lr_decay_from: '2', ema: '0.999', conditional: 'acgan', classes: '3', arch: 'dcgan64', channels: '3', image_size: '64', ngf: '64', ndf: '64' });
    expect(settingsFromMetadata(meta, (k) => k)).toEqual(Object.fromEntries(KEYS.filter((k) => SETTINGS[k].meta).map((k) => [k, dcgan[k]])));
  });

  it('reads a key an older checkpoint lacks as its default, and a bad one as the flag would refuse it', () => {
    const old = Object.fromEntries(settingsToMetadata(REFERENCE_CONFIG).filter(([k]) => !['real_label', 'ema', 'lr_decay_from'].includes(k)));
    expect(settingsFromMetadata(old, (k) => k)).toMatchObject({ realLabel: 1, ema: 0, lrDecayFrom: null, conditional: 'none', arch: 'reference', imageSize: 28 });
    expect(() => settingsFromMetadata({ ...old, lr: '-1' }, (k) => `f: metadata "${k}"`)).toThrow('f: metadata "lr": expected a number > 0, found "-1"');
  });

  it('takes each recipe from the rows, and shows it as the flags it amounts to', () => {
    expect(recipeValues('reference')).toEqual({});
    expect(recipeValues('improved')).toEqual({ lr: 4e-4, lrD: 1e-4, init: 'dcgan', realLabel: 0.9 });
    expect(recipeAsFlags('improved')).toBe('--lr 0.0004 --lr-d 0.0001 --init dcgan --real-label 0.9');
    expect(config(['--recipe', 'improved', '--lr', '0.001'])).toMatchObject({ lr: 1e-3, lrD: 1e-4, init: 'dcgan', realLabel: 0.9 });
    // A row without a flag of its own shows as the flags that set it.
    expect(recipeValues('classes')).toEqual({ ...recipeValues('improved'), conditional: 'projection' });
    expect(recipeAsFlags('classes')).toBe('--lr 0.0004 --lr-d 0.0001 --init dcgan --real-label 0.9 --conditional');
    expect(config(['--recipe', 'classes'])).toEqual({ ...REFERENCE_CONFIG, lr: 4e-4, lrD: 1e-4, init: 'dcgan', realLabel: 0.9, conditional: 'projection' });
    expect(config(['--recipe', 'classes', '--head', 'acgan', '--lr-d', 'same'])).toMatchObject({ conditional: 'acgan', lr: 4e-4, lrD: null });
  });

  it("applies each row's resume rule", () => {
    const saved: TrainConfig = { ...REFERENCE_CONFIG, lrDecayFrom: 1 };
    const at = { epoch: 1, batchIndex: 3 };
    expect(resumeConflict('epochs', saved, 40, at)).toBeNull();
    expect(resumeConflict('seed', saved, 1, at)).toBe(', which has 0');
    // D's rate equal to G's is the same run as "same".
    expect(resumeConflict('lrD', saved, 2e-4, at)).toBeNull();
    expect(resumeConflict('lrD', saved, 1e-4, at)).toBe(', which has 0.0002');
    expect(resumeConflict('lrDecayFrom', saved, 3, at)).toBe(" (1), which is at epoch 1 batch 3: past the decay's start");
    expect(resumeConflict('lrDecayFrom', saved, 3, { epoch: 0, batchIndex: 5 })).toBeNull();
  });

  it('finds the first given setting a resumed run refuses, for the CLI and the page to name', () => {
    const saved: TrainConfig = { ...REFERENCE_CONFIG, lrDecayFrom: 1 };
    const at = { epoch: 1, batchIndex: 3 };
    expect(resumeRefusal(saved, { epochs: 40, tune: 'off', conv: 'explicit', lr: 2e-4 }, at)).toBeNull();
    expect(resumeRefusal(saved, { epochs: 40, lr: 4e-4, seed: 1 }, at)).toEqual({ key: 'lr', text: '0.0004', why: ', which has 0.0002' });
    expect(resumeRefusal(saved, { lrDecayFrom: 3 }, at)?.why).toBe(" (1), which is at epoch 1 batch 3: past the decay's start");
  });

  it('parses the URL parameters the page offers with the same checks', () => {
    const params = new URLSearchParams('lr=0.0004&loss=bce_logits&tune=off&ema=0.999');
    expect(settingsFromParams(params, ['lr', 'loss', 'tune', 'ema', 'seed'])).toEqual({ lr: 4e-4, loss: 'bce_logits', tune: 'off', ema: 0.999 });
    expect(() => settingsFromParams(new URLSearchParams('lr=fast'), ['lr'])).toThrow('lr: expected a number > 0, found "fast"');
  });
});
