/** What every command-line entry point shares: one-line errors and exit codes. */
import { InvalidValueError } from '../config/checks.js';

/** A command line the command cannot run: exit code 2 and a pointer to --help. */
export class UsageError extends InvalidValueError {
  override name = 'UsageError';
}

/** Runs a command; any error becomes one line on stderr and exit code 1 (2 for usage errors). */
export async function runMain(main: () => Promise<unknown>): Promise<void> {
  try {
    await main();
  } catch (err) {
    const e = err as Error & { code?: string };
    const usage = e instanceof InvalidValueError || (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS'));
    console.error(`error: ${e.message}${usage ? '\n(see --help)' : ''}`);
    if (process.env.DEBUG) console.error(e.stack);
    process.exitCode = usage ? 2 : 1;
  }
}
