/**
 * How a setting's value travels as text (a flag, a URL parameter, a checkpoint's metadata) and
 * how it is checked when it comes from code (a library caller's config). One codec per kind of
 * value, so a bad value gets the same message from every entry point (src/config/checks.ts).
 */
import { checkChoice, checkInt, checkNumber, invalidValue, numberFromText, type NumberRange } from './checks.js';

export interface Codec<T> {
  /** --help's placeholder: N, X, NAME... */
  readonly arg: string;
  /** The values a choice allows (listed first in --help). */
  readonly choices?: readonly string[];
  /** Text to a checked value; the message names `source`. */
  parse(text: string, source: string): T;
  /** A value given by code, checked (the same messages as parse). */
  check(value: unknown, source: string): T;
  /** The value as text: what parse reads back. */
  format(value: T): string;
}

/** An integer >= min. */
export function intCodec(min: number, arg = 'N'): Codec<number> {
  return {
    arg,
    parse: (text, source) => checkInt(numberFromText(text), source, min, undefined, text),
    check: (value, source) => checkInt(value, source, min),
    format: String,
  };
}

/** A finite number in the range (above 0 by default). */
export function numCodec(range: NumberRange, arg = 'X'): Codec<number> {
  return {
    arg,
    parse: (text, source) => checkNumber(numberFromText(text), source, range, text),
    check: (value, source) => checkNumber(value, source, range),
    format: String,
  };
}

/** One of `allowed`. */
export function choiceCodec<T extends string>(allowed: readonly T[], arg = 'NAME'): Codec<T> {
  return {
    arg,
    choices: allowed,
    parse: (text, source) => checkChoice(text, source, allowed),
    check: (value, source) => checkChoice(value, source, allowed),
    format: (v) => v,
  };
}

/** On or off: on the command line a flag without a value (its `arg` is empty); as text `true` or `false`. */
export function boolCodec(): Codec<boolean> {
  const names = ['true', 'false'] as const;
  return {
    arg: '',
    parse: (text, source) => checkChoice(text, source, names) === 'true',
    check: (value, source) => {
      if (typeof value !== 'boolean') throw invalidValue(source, 'true or false', String(value));
      return value;
    },
    format: String,
  };
}

/**
 * Some of `allowed`, comma-separated, each once and in `allowed`'s order (the order they apply
 * in), or `none` for no entry.
 */
export function subsetCodec<T extends string>(allowed: readonly T[], arg = 'LIST'): Codec<readonly T[]> {
  const expected = `none or a comma-separated list of ${allowed.join(', ')} (each once, in that order)`;
  const checked = (items: readonly unknown[], source: string, shown: string): readonly T[] => {
    const at = items.map((i) => (allowed as readonly unknown[]).indexOf(i));
    if (at.some((k, n) => k < 0 || (n > 0 && k <= at[n - 1]!))) throw invalidValue(source, expected, shown);
    return items as readonly T[];
  };
  return {
    arg,
    parse: (text, source) => (text === 'none' ? [] : checked(text.split(','), source, text)),
    check: (value, source) => {
      if (!Array.isArray(value)) throw invalidValue(source, expected, String(value));
      return checked(value, source, value.join(','));
    },
    format: (v) => (v.length ? v.join(',') : 'none'),
  };
}

/** One of a few integers, written as they are (e.g. channels 1|3). */
export function intChoiceCodec(allowed: readonly number[]): Codec<number> {
  const names = allowed.map(String);
  return {
    arg: names.join('|'),
    parse: (text, source) => Number(checkChoice(text, source, names)),
    check: (value, source) => Number(checkChoice(String(value), source, names)),
    format: String,
  };
}

/**
 * `inner`, or a "none" value (`none`, written `noneText`): e.g. D's rate null ("same": G's), a
 * schedule's start null ("none": constant), an average's decay 0 ("0": none).
 */
export function orNone<T, N extends null | number>(inner: Codec<T>, none: N, noneText: string): Codec<T | N> {
  return {
    ...inner,
    parse: (text, source) => (text === noneText ? none : inner.parse(text, source)),
    check: (value, source) => (value === none ? none : inner.check(value, source)),
    format: (v) => (v === none ? noneText : inner.format(v as T)),
  };
}

/** A size in bytes, written as MiB (fractions too), at least one byte. */
export function mibCodec(): Codec<number> {
  return {
    arg: 'X',
    parse: (text, source) => Math.max(1, Math.round(checkNumber(numberFromText(text), source, { gt: 0 }, text) * 2 ** 20)),
    check: (value, source) => checkInt(value, source, 1),
    format: (bytes) => String(bytes / 2 ** 20),
  };
}
