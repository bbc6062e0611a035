/**
 * The value checks every entry point shares: the CLI's flags, the library's options
 * (GanTrainer.create, sample, interpolate, loadGenerator) and the page's inputs all reject a bad
 * value with the same message, `SOURCE: expected ..., found "VALUE"`, where SOURCE is the flag
 * (`--batch-size`), the option (`batchSize`) or the page's field.
 */
export class InvalidValueError extends Error {
  override name = 'InvalidValueError';
}

/** The one message of a bad value: `SOURCE: expected EXPECTED, found "SHOWN"`. */
export const invalidValue = (source: string, expected: string, shown: string) => new InvalidValueError(`${source}: expected ${expected}, found "${shown}"`);

/** An integer in min..max (max: unbounded by default). `shown` is the text the user wrote, when there was one. */
export function checkInt(value: unknown, source: string, min = 1, max = Number.MAX_SAFE_INTEGER, shown = String(value)): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidValue(source, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in ${min}..${max}`, shown);
  }
  return value;
}

export interface NumberRange {
  /** Exclusive lower bound (default 0). */
  gt?: number;
  /** Exclusive upper bound. */
  lt?: number;
  /** Inclusive upper bound. */
  le?: number;
}

/** A finite number in the range (above 0 by default). */
export function checkNumber(value: unknown, source: string, r: NumberRange = {}, shown = String(value)): number {
  const gt = r.gt ?? 0;
  const ok = typeof value === 'number' && Number.isFinite(value) && value > gt && (r.lt === undefined || value < r.lt) && (r.le === undefined || value <= r.le);
  if (!ok) {
    const range = r.lt !== undefined ? `in (${gt}, ${r.lt})` : r.le !== undefined ? `in (${gt}, ${r.le}]` : `> ${gt}`;
    throw invalidValue(source, `a number ${range}`, shown);
  }
  return value as number;
}

/** One of `allowed`. */
export function checkChoice<T extends string>(value: unknown, source: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) throw invalidValue(source, `one of ${allowed.join(', ')}`, String(value));
  return value as T;
}

/** A number typed as text (a flag, a URL parameter, a form field): '' and spaces are not 0. */
export function numberFromText(text: string): number {
  return text.trim() === '' ? NaN : Number(text);
}
