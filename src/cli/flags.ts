/**
 * Declarative flags: each command describes its flags once, as a table, and its help text,
 * parsing and range checks all come from that table. The builders below are the only places a
 * flag's value is checked, so a bad value gets the same message from every command, negative
 * numbers included (node's parseArgs reads `--ema -0.1` as a missing value; we do not).
 */
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from './args.js';
import { checkChoice, checkInt, checkNumber, invalidValue, numberFromText, type NumberRange } from '../config/checks.js';

/** One flag: how it is shown in --help and how its text becomes a value. */
export interface Flag<T> {
  /** The value's placeholder in --help (`N`, `X`, `NAME`...); absent for a boolean switch. */
  arg?: string;
  short?: string;
  /** One paragraph; --help wraps it and appends the default. */
  help: string;
  /** The --help heading this flag starts (the table's order is the help's order). */
  section?: string;
  /** Used when the flag is absent; shown in --help unless `shownDefault` says otherwise. */
  default?: T;
  /** How the default reads in --help (e.g. "$WEBGPU_DCGAN_TUNE or quick"); '' hides it. */
  shownDefault?: string;
  /** An environment variable read when the flag is absent (before the default). */
  env?: string;
  /** The values a choice allows, listed first in --help. */
  choices?: readonly string[];
  /** Text to value; throws UsageError naming `source` (the flag, or the environment variable). */
  parse(value: string, source: string): T;
}

export type FlagTable = Record<string, Flag<unknown>>;
/** The parsed values: a flag with a default always has a value; others may be undefined. */
export type FlagValues<T extends FlagTable> = {
  -readonly [K in keyof T]: T[K] extends Flag<infer V> ? (T[K] extends { default: unknown } ? V : V | undefined) : never;
};

/** A builder's result keeps whether a default was given, so FlagValues can drop `undefined`. */
type Defaulted<O, T> = O extends { default: unknown } ? { default: T } : unknown;
type Opts<T> = Partial<Pick<Flag<T>, 'default' | 'section' | 'shownDefault' | 'short' | 'env'>> & { arg?: string };

const made = <T, O>(f: Flag<T>) => f as Flag<T> & Defaulted<O, T>;

/** An integer >= min (default 1), at most max. */
export function int<O extends Opts<number> & { min?: number; max?: number }>(help: string, o: O = {} as O): Flag<number> & Defaulted<O, number> {
  return made<number, O>({ arg: 'N', ...o, help, parse: (value, source) => checkInt(numberFromText(value), source, o.min ?? 1, o.max, value) });
}

/** A finite number above `gt` (default 0), below `lt` or at most `le`. */
export function num<O extends Opts<number> & NumberRange>(help: string, o: O = {} as O): Flag<number> & Defaulted<O, number> {
  return made<number, O>({ arg: 'X', ...o, help, parse: (value, source) => checkNumber(numberFromText(value), source, o, value) });
}

/** One of `allowed`. */
export function choice<T extends string, O extends Opts<string>>(allowed: readonly T[], help: string, o: O = {} as O): Flag<T> & Defaulted<O, T> {
  return made<T, O>({ arg: 'NAME', ...o, help, choices: allowed, parse: (value, source) => checkChoice(value, source, allowed) } as Flag<T>);
}

/** A comma-separated list, each item parsed by `item` (an int/num/choice flag). */
export function list<T, O extends Opts<unknown[]>>(item: Flag<T>, help: string, o: O = {} as O): Flag<T[]> & Defaulted<O, T[]> {
  return made<T[], O>({
    arg: 'LIST', ...o, help, choices: item.choices,
    parse(value, source) {
      const items = value.split(',').map((s) => s.trim());
      if (items.some((s) => s === '')) throw invalidValue(source, 'a comma-separated list without empty items', value);
      return items.map((s) => item.parse(s, source));
    },
  } as Flag<T[]>);
}

/** Free text (a path, a name); only the empty string is refused. */
export function text<O extends Opts<string>>(help: string, o: O = {} as O): Flag<string> & Defaulted<O, string> {
  return made<string, O>({
    arg: 'PATH', ...o, help,
    parse(value, source) {
      if (value === '') throw invalidValue(source, 'a non-empty value', value);
      return value;
    },
  });
}

/** A switch. */
export function bool(help: string, o: Partial<Pick<Flag<boolean>, 'section' | 'short'>> = {}): Flag<boolean> & { default: boolean } {
  return { ...o, help, default: false, shownDefault: '', parse: () => true };
}

/** A value with its own syntax (e.g. `10m`). */
export function custom<T, O extends Opts<unknown>>(arg: string, help: string, parse: (value: string, source: string) => T, o: O = {} as O): Flag<T> & Defaulted<O, T> {
  return made<T, O>({ arg, ...o, help, parse } as Flag<T>);
}

export const HELP_FLAG = { help: bool('this text', { short: 'h' }) };

/** A negative number given as a flag's value (`--ema -0.1`): parseArgs would take it for a flag. */
const NEGATIVE = /^-(\d|\.\d|inf|nan)/i;

/**
 * Parses argv against a table: every given value through its flag's parse, absent ones from the
 * environment or the default. `given` names the flags the command line set.
 */
export function parseFlags<T extends FlagTable>(table: T, args: string[]): { values: FlagValues<T>; given: Set<keyof T & string> } {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = a.startsWith('--') ? a.slice(2) : null;
    // A value that starts with a dash: a negative number, or other flags (a FLAGS value, bench's --variants).
    if (name !== null && !name.includes('=') && table[name]?.arg !== undefined && (NEGATIVE.test(args[i + 1] ?? '') || (table[name]!.arg === 'FLAGS' && i + 1 < args.length))) {
      joined.push(`${a}=${args[++i]}`);
    } else {
      joined.push(a);
    }
  }
  const options = Object.fromEntries(
    Object.entries(table).map(([name, f]) => [name, { type: f.arg === undefined ? ('boolean' as const) : ('string' as const), ...(f.short ? { short: f.short } : {}) }]),
  );
  const { values: raw } = parseArgs({ args: joined, options, strict: true, allowPositionals: false });
  const values: Record<string, unknown> = {};
  const given = new Set<keyof T & string>();
  for (const [name, f] of Object.entries(table)) {
    const r = raw[name];
    if (r !== undefined) {
      given.add(name as keyof T & string);
      values[name] = typeof r === 'boolean' ? r : f.parse(r as string, `--${name}`);
    } else {
      const env = f.env && typeof process !== 'undefined' ? process.env[f.env] : undefined;
      values[name] = env ? f.parse(env, f.env!) : f.default;
    }
  }
  return { values: values as FlagValues<T>, given };
}

const COLUMN = 22;
const WIDTH = 100;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** The flags' part of --help, in the table's order, under its section headings. */
export function flagHelp(table: FlagTable): string {
  const out: string[] = [];
  for (const [name, f] of Object.entries(table)) {
    if (f.section) out.push(`${out.length ? '\n' : ''}${f.section}:`);
    const head = `  ${f.short ? `-${f.short}, ` : ''}--${name}${f.arg ? ` ${f.arg}` : ''}`;
    const shown = f.shownDefault ?? (f.default === undefined ? '' : Array.isArray(f.default) ? f.default.join(',') : String(f.default));
    const choices = f.choices ? `${f.choices.join('|')}${f.help ? ': ' : ''}` : '';
    const body = wrap(`${choices}${f.help}${shown ? ` (default ${shown})` : ''}`, WIDTH - COLUMN);
    const pad = ' '.repeat(COLUMN);
    if (head.length < COLUMN - 1) out.push(`${head.padEnd(COLUMN)}${body[0] ?? ''}`, ...body.slice(1).map((l) => pad + l));
    else out.push(head, ...body.map((l) => pad + l));
  }
  return out.join('\n');
}

/** A file a command will write: refused up front when the name is a directory. */
export function outputFile(path: string, flag: string): string {
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${flag}: "${path}" is a directory; expected a file name (e.g. ${path.replace(/\/+$/, '')}/samples.png)`);
  return path;
}
