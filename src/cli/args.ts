/** What every command-line entry point shares: argument checks and one-line errors. */

/** Parses a flag as an integer >= min; the error names the flag and the value found. */
export function positiveInt(value: string | undefined, flag: string, min = 1): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${flag}: expected an integer >= ${min}, found "${value}"`);
  }
  return n;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Runs a command; any error becomes one line on stderr and exit code 1 (2 for usage errors). */
export async function runMain(main: () => Promise<unknown>): Promise<void> {
  try {
    await main();
  } catch (err) {
    const e = err as Error & { code?: string };
    const usage = e instanceof UsageError || (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS'));
    console.error(`error: ${e.message}${usage ? '\n(see --help)' : ''}`);
    if (process.env.DEBUG) console.error(e.stack);
    process.exitCode = usage ? 2 : 1;
  }
}

/** Parses a flag as a finite number in (min, max); the error names the flag and the value found. */
export function positiveNumber(value: string | undefined, flag: string, min = 0, max = Infinity): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(n) || n <= min || n >= max) {
    const range = max === Infinity ? `> ${min}` : `in (${min}, ${max})`;
    throw new UsageError(`${flag}: expected a number ${range}, found "${value}"`);
  }
  return n;
}

/** Parses a flag as one of `allowed` (or `fallback` when absent); the error names the flag and the value found. */
export function oneOf<T extends string>(value: string | undefined, flag: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag}: expected one of ${allowed.join(', ')}, found "${value}"`);
  return value as T;
}
