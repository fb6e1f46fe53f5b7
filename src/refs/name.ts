/**
 * Reference names (docs/format.md, "References v1", Names): the rule, and
 * the checks that refuse a bad name or prefix before storage is touched.
 *
 * @module
 */
import { InvalidKeyError } from '../errors.js';

/** Longest reference name, in characters (its key, `refs/<name>.json`, stays far below every backend's limits). */
export const MAX_REFERENCE_NAME_LENGTH = 200;

const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** Why `name` is not a valid reference name, or undefined when it is. */
function refusal(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'a reference name must be a string';
  if (name.length === 0) return 'a reference name must not be empty';
  if (name.length > MAX_REFERENCE_NAME_LENGTH) return `longer than ${MAX_REFERENCE_NAME_LENGTH} characters`;
  for (const segment of name.split('/')) {
    if (segment === '') return "empty segment (leading, trailing or doubled '/')";
    if (segment === '.' || segment === '..') return `'${segment}' segments are not allowed`;
    if (!SEGMENT.test(segment)) return 'only A-Z a-z 0-9 . _ ~ - and / are allowed';
    if (segment.endsWith('.json')) return "a segment must not end in '.json' (it could collide with a reference document)";
  }
  return undefined;
}

/** True when `name` is a valid reference name. */
export function isReferenceName(name: unknown): name is string {
  return refusal(name) === undefined;
}

/**
 * Throws `InvalidKeyError` unless `name` is a valid reference name: 1-200
 * characters, `/`-separated segments of `A-Z a-z 0-9 . _ ~ -`, no empty, `.`
 * or `..` segment, no segment ending in `.json`.
 */
export function assertReferenceName(name: unknown): asserts name is string {
  const why = refusal(name);
  if (why !== undefined) throw new InvalidKeyError(shown(name), `not a valid reference name: ${why}`);
}

/**
 * Throws `InvalidKeyError` unless `prefix` is `''` or the beginning of some
 * valid name (`notes/`, `notes/4`): what `list({ prefix })` takes.
 */
export function assertReferencePrefix(prefix: unknown): asserts prefix is string {
  if (prefix === '') return;
  if (typeof prefix !== 'string') throw new InvalidKeyError(shown(prefix), 'a reference prefix must be a string');
  // A prefix may end in '/' or in the middle of a segment: it must be a name once that is completed.
  const completed = prefix.endsWith('/') ? `${prefix}x` : prefix.endsWith('.json') ? `${prefix}x` : prefix;
  const why = prefix.length > MAX_REFERENCE_NAME_LENGTH ? `longer than ${MAX_REFERENCE_NAME_LENGTH} characters` : refusal(completed);
  if (why !== undefined) throw new InvalidKeyError(shown(prefix), `not a valid reference prefix: ${why}`);
}

function shown(name: unknown): string {
  if (typeof name !== 'string') return String(name);
  return name.length > 60 ? `${name.slice(0, 60)}…` : name;
}
