/**
 * Argument parsing: `archive-storage [global options] <command> [args]`.
 * Options may stand anywhere on the line; each command declares which of the
 * command options it takes, and any other is a usage error.
 */
import { parseArgs } from 'node:util';
import { usageError } from './errors.js';

const OPTIONS = {
  store: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  // command options
  ndjson: { type: 'boolean' },
  repair: { type: 'boolean' },
  status: { type: 'string' },
  'goal-contains': { type: 'string' },
  goal: { type: 'string' },
  weight: { type: 'string' },
  to: { type: 'string' },
  note: { type: 'string' },
} as const;

export type OptionName = keyof typeof OPTIONS;
export const GLOBAL_OPTIONS: readonly OptionName[] = ['store', 'json', 'quiet', 'no-progress', 'help', 'version', 'endpoint', 'region'];

export interface ParsedArgs {
  command: string | undefined;
  positionals: string[];
  values: Partial<Record<OptionName, string | boolean>>;
}

export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError((e as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
  const [command, ...positionals] = parsed.positionals;
  return { command, positionals, values: parsed.values as ParsedArgs['values'] };
}

/** Throws a usage error when an option not in `allowed` (besides the global ones) was given. */
export function allowOnly(args: ParsedArgs, what: string, allowed: readonly OptionName[]): void {
  for (const name of Object.keys(args.values) as OptionName[]) {
    if (!GLOBAL_OPTIONS.includes(name) && !allowed.includes(name)) throw usageError(`'${what}' does not take --${name}`);
  }
}

/** Throws a usage error unless there are between `min` and `max` positionals. */
export function expectPositionals(args: ParsedArgs, what: string, min: number, max: number, shape: string): string[] {
  const n = args.positionals.length;
  if (n < min || n > max) throw usageError(`usage: archive-storage ${what} ${shape}`);
  return args.positionals;
}
