/**
 * Argument parsing: `archive-storage [global options] <command> [args]`.
 * Options may stand anywhere on the line; each command declares which of the
 * command options it takes, and any other is a usage error.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { InvalidJsonError } from '../src/errors.js';
import { parseJson } from '../src/json/canonical.js';
import { usageError } from './errors.js';
import { didYouMean } from './text.js';

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
  name: { type: 'string' },
  priority: { type: 'string' },
  weight: { type: 'string' },
  all: { type: 'boolean' },
  to: { type: 'string' },
  note: { type: 'string' },
  'created-at': { type: 'string' },
  report: { type: 'string' },
  'skip-invalid': { type: 'boolean' },
  'skip-conflicts': { type: 'boolean' },
  replace: { type: 'boolean' },
  overwrite: { type: 'boolean' },
  meta: { type: 'string' },
  'allow-missing': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  since: { type: 'string' },
  unreferenced: { type: 'boolean' },
  grace: { type: 'string' },
} as const;

export type OptionName = keyof typeof OPTIONS;
export const GLOBAL_OPTIONS: readonly OptionName[] = ['store', 'json', 'quiet', 'no-progress', 'help', 'version', 'endpoint', 'region'];

export interface ParsedArgs {
  command: string | undefined;
  positionals: string[];
  values: Partial<Record<OptionName, string | boolean>>;
}

/** A token that reads as a negative number (`-0.5`, `-2`, `-.5`): a value, not an option. */
const NEGATIVE_NUMBER = /^-(?:\d|\.\d)/;

/**
 * `--weight -0.5` as `--weight=-0.5`: node's parser refuses a value that
 * starts with a dash as ambiguous, but a negative number after an option
 * that takes a value can only be that value.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    const next = argv[i + 1];
    if (name && (OPTIONS as Record<string, { type: string }>)[name]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv), options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    const message = (e as Error).message.replace(/\. To specify a positional.*$/s, '');
    const unknown = /^Unknown option '--([^']+)'/.exec(message)?.[1];
    throw usageError(unknown ? `${message}${didYouMean(unknown, Object.keys(OPTIONS)).replace(/"(.*)"/, '"--$1"')}` : message);
  }
  const [command, ...positionals] = parsed.positionals;
  return { command, positionals, values: parsed.values as ParsedArgs['values'] };
}

/** Throws a usage error when an option not in `allowed` (besides the global ones) was given. */
export function allowOnly(args: ParsedArgs, what: string, allowed: readonly OptionName[]): void {
  for (const name of Object.keys(args.values) as OptionName[]) {
    if (!GLOBAL_OPTIONS.includes(name) && !allowed.includes(name)) throw usageError(`'${what}' does not take --${name}`, what);
  }
}

/** Throws a usage error unless there are between `min` and `max` positionals. */
export function expectPositionals(args: ParsedArgs, what: string, min: number, max: number, shape: string): string[] {
  const n = args.positionals.length;
  if (n < min || n > max) throw usageError(`usage: archive-storage ${what} ${shape}`.trimEnd(), what);
  return args.positionals;
}

/** JSON's insignificant whitespace, which the strict parser skips but an option value must not carry. */
const EDGE_WHITESPACE = /^[ \t\n\r]|[ \t\n\r]$/;

/**
 * The number an option's text spells, by the archive's own rule for JSON
 * numbers (`parseJson`): a plain decimal such as `-0.5`, `2`, `1e-7` that an
 * IEEE double holds exactly as written. Refused (usage error): hex, padding,
 * `Infinity`, overflow, underflow to 0 (`1e-400`), and digits a double would
 * round away (`12345678901234567890`).
 */
export function numberOption(name: string, text: string): number {
  const refuse = (why: string) => usageError(`--${name} ${JSON.stringify(text)}: ${why}`);
  if (EDGE_WHITESPACE.test(text)) throw refuse('a number must not have spaces around it');
  let value;
  try {
    value = parseJson(text);
  } catch (e) {
    if (e instanceof InvalidJsonError) throw refuse(/number/.test(e.reason) ? e.reason.replace(/ at line \d+ column \d+$/, '') : 'not a decimal number');
    throw e;
  }
  if (typeof value !== 'number') throw refuse('not a decimal number');
  return value === 0 ? 0 : value; // -0 and 0 are one weight
}
