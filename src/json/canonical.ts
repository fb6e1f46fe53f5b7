/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) and a strict JSON parser.
 *
 * `canonicalize` turns JSON data into the one canonical text the archive hashes:
 * object keys sorted by UTF-16 code units, numbers in ECMAScript shortest
 * round-trip form, strings with the JCS escapes (those of `JSON.stringify` for
 * well-formed strings). Anything that is not JSON data is refused with an
 * {@link InvalidJsonError} naming the path of the offending part.
 *
 * `parseJson` reads untrusted text and refuses what would make
 * `canonicalize(parseJson(text))` ambiguous: duplicate keys, lone surrogates,
 * numbers that do not survive the trip to an IEEE double.
 *
 * @module
 */
import { InvalidJsonError } from '../errors.js';

/** A JSON value: what the archive stores. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Options of {@link canonicalize}. */
export interface CanonicalizeOptions {
  /** Nesting deeper than this is refused (default 1000): keeps hostile input from exhausting the stack. */
  maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 1000;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const encoder = /* @__PURE__ */ new TextEncoder();

/** Formats a path (a list of keys and indices) as `$.a["b c"][3]`. */
export function formatJsonPath(segments: readonly (string | number)[]): string {
  let out = '$';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENTIFIER.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** True when `s` has no lone (unpaired) UTF-16 surrogate. */
export function isWellFormedString(s: string): boolean {
  const native = (s as { isWellFormed?: () => boolean }).isWellFormed;
  if (native) return native.call(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return false;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  const ctor = (value as object).constructor as { name?: string } | undefined;
  return `an instance of ${ctor?.name || 'an unknown class'}`;
}

/**
 * A refusal on its way up from where it happened: each level adds its own key
 * or index, so the happy path keeps no path bookkeeping at all.
 */
class Refusal {
  /** Innermost segment first. */
  readonly reversedPath: (string | number)[] = [];
  constructor(readonly message: string) {}
}

/** Strings JSON.stringify leaves as they are: printable ASCII without `"` and `\` (most keys and many values). */
const NO_ESCAPES = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function quote(s: string): string {
  if (NO_ESCAPES.test(s)) return '"' + s + '"';
  if (!isWellFormedString(s)) throw new Refusal('string has a lone UTF-16 surrogate, which JSON text cannot carry');
  return JSON.stringify(s);
}

/** Adds `segment` to a refusal passing through; anything else passes unchanged. */
function via(error: unknown, segment: string | number): unknown {
  if (error instanceof Refusal) error.reversedPath.push(segment);
  return error;
}

function visit(v: unknown, ancestors: object[], maxDepth: number): string {
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'number':
      if (!Number.isFinite(v)) throw new Refusal(`${v} is not a JSON number (only finite numbers are)`);
      // ECMAScript Number::toString is exactly the JCS number serialisation (and turns -0 into 0).
      return String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new Refusal(`${describe(v)} is not JSON data`);
  }
  if (v === null) return 'null';
  if (ancestors.includes(v as object)) throw new Refusal('value contains a cycle');
  if (ancestors.length >= maxDepth) throw new Refusal(`nesting deeper than ${maxDepth} levels`);
  ancestors.push(v as object);
  let out: string;
  if (Array.isArray(v)) {
    out = '[';
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) throw via(new Refusal('sparse array hole is not JSON data'), i);
      try {
        out += (i ? ',' : '') + visit(v[i], ancestors, maxDepth);
      } catch (e) {
        throw via(e, i);
      }
    }
    out += ']';
  } else {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw new Refusal(`${describe(v)} is not a plain object`);
    if (Object.getOwnPropertySymbols(v).length > 0) throw new Refusal('object has symbol keys, which JSON cannot carry');
    // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 asks.
    const keys = Object.keys(v).sort();
    out = '{';
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const key = quote(k); // checked outside the try, so a bad key is reported on its object
      try {
        out += (i ? ',' : '') + key + ':' + visit((v as Record<string, unknown>)[k], ancestors, maxDepth);
      } catch (e) {
        throw via(e, k);
      }
    }
    out += '}';
  }
  ancestors.pop();
  return out;
}

/** Serialises a JSON value to its RFC 8785 canonical text. Throws {@link InvalidJsonError}. */
export function canonicalize(value: unknown, options?: CanonicalizeOptions): string {
  try {
    return visit(value, [], options?.maxDepth ?? DEFAULT_MAX_DEPTH);
  } catch (e) {
    if (e instanceof Refusal) throw new InvalidJsonError(formatJsonPath(e.reversedPath.reverse()), e.message);
    throw e;
  }
}

/** The UTF-8 bytes of {@link canonicalize}: exactly what the archive stores and hashes. */
export function canonicalBytes(value: unknown, options?: CanonicalizeOptions): Uint8Array {
  return encoder.encode(canonicalize(value, options));
}

/** Options of {@link parseJson}. */
export interface ParseJsonOptions {
  /** Nesting deeper than this is refused (default 1000). */
  maxDepth?: number;
}

/**
 * Splits a decimal literal into sign, significant digits (no leading or trailing
 * zeros) and the decimal exponent of the first digit, so that two spellings of
 * one decimal value compare equal.
 */
function normalizeDecimal(literal: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!m) return literal;
  const digits = m[2]! + (m[3] ?? '');
  let exp = m[2]!.length + Number(m[4] ?? 0);
  let start = 0;
  while (start < digits.length && digits[start] === '0') start++;
  if (start === digits.length) return '0';
  exp -= start;
  let end = digits.length;
  while (digits[end - 1] === '0') end--;
  return `${m[1]}${digits.slice(start, end)}e${exp}`;
}

/**
 * Parses untrusted JSON text strictly: RFC 8259 syntax only, and refuses
 * duplicate keys, lone surrogates (raw or escaped), numbers that an IEEE double
 * cannot hold exactly as written (overflow, underflow, digits beyond precision),
 * and nesting deeper than `maxDepth`. Errors are {@link InvalidJsonError} with
 * the path and the line:column of the problem.
 */
export function parseJson(text: string, options?: ParseJsonOptions): JsonValue {
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  const path: (string | number)[] = [];
  let pos = 0;
  let depth = 0;

  const where = (at: number): string => {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < text.length; i++) {
      if (text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    return `line ${line} column ${at - lineStart + 1}`;
  };
  const fail = (message: string, at = pos): never => {
    if (at >= text.length && !message.includes('end of text')) message = `unexpected end of text (${message})`;
    throw new InvalidJsonError(formatJsonPath(path), `${message} at ${where(at)}`);
  };

  const skipWs = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 32 || c === 10 || c === 13 || c === 9) pos++;
      else return;
    }
  };

  const parseString = (): string => {
    const start = pos; // at the opening quote
    pos++;
    let escaped = false;
    for (;;) {
      if (pos >= text.length) fail('unterminated string', start);
      const c = text.charCodeAt(pos);
      if (c === 34) break;
      if (c < 0x20) fail('control character in string (must be escaped)');
      if (c === 92) {
        escaped = true;
        const e = text[pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) fail('bad \\u escape');
          pos += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail('bad escape');
        pos += 2;
        continue;
      }
      pos++;
    }
    const raw = text.slice(start, pos + 1);
    pos++;
    const s = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    if (!isWellFormedString(s)) fail('string has a lone UTF-16 surrogate', start);
    return s;
  };

  const parseNumber = (): number => {
    const start = pos;
    const m = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    m.lastIndex = pos;
    const hit = m.exec(text);
    if (!hit) fail('invalid number');
    const literal = hit![0];
    pos += literal.length;
    const n = Number(literal);
    if (!Number.isFinite(n)) fail(`number ${literal} overflows an IEEE double`, start);
    if (n !== 0 && normalizeDecimal(literal) !== normalizeDecimal(String(n))) {
      fail(`number ${literal} cannot be held exactly (it would become ${String(n)})`, start);
    }
    if (n === 0 && normalizeDecimal(literal).replace('-', '') !== '0') {
      fail(`number ${literal} underflows to 0`, start);
    }
    return n;
  };

  const parseValue = (): JsonValue => {
    skipWs();
    const c = text[pos];
    if (c === '{') {
      if (++depth > maxDepth) fail(`nesting deeper than ${maxDepth} levels`);
      pos++;
      const obj: Record<string, JsonValue> = {};
      const seen = new Set<string>();
      skipWs();
      if (text[pos] === '}') {
        pos++;
        depth--;
        return obj;
      }
      for (;;) {
        skipWs();
        if (text[pos] !== '"') fail('expected a string key');
        const keyAt = pos;
        const key = parseString();
        if (seen.has(key)) fail(`duplicate key ${JSON.stringify(key)}`, keyAt);
        seen.add(key);
        skipWs();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        path.push(key);
        // defineProperty so that a "__proto__" key stays plain data, never a prototype change.
        Object.defineProperty(obj, key, { value: parseValue(), enumerable: true, writable: true, configurable: true });
        path.pop();
        skipWs();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          depth--;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      if (++depth > maxDepth) fail(`nesting deeper than ${maxDepth} levels`);
      pos++;
      const arr: JsonValue[] = [];
      skipWs();
      if (text[pos] === ']') {
        pos++;
        depth--;
        return arr;
      }
      for (;;) {
        path.push(arr.length);
        arr.push(parseValue());
        path.pop();
        skipWs();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          depth--;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return parseString();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return parseNumber();
    if (text.startsWith('true', pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith('false', pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith('null', pos)) {
      pos += 4;
      return null;
    }
    return fail(c === undefined ? 'unexpected end of text' : `unexpected character ${JSON.stringify(c)}`);
  };

  if (typeof text !== 'string') throw new InvalidJsonError('$', 'parseJson expects a string');
  // A leading byte-order mark is not JSON text (RFC 8259 §8.1): refuse rather than guess.
  const value = parseValue();
  skipWs();
  if (pos < text.length) fail('unexpected text after the JSON value');
  return value;
}
