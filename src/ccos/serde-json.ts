/**
 * JSON exactly as CCOS's serde_json writes it, and CCOS's content address.
 *
 * - Fields in the Rust struct's declaration order (the SDK's schema), maps
 *   in the order of the given object (serde writes a `HashMap` in whatever
 *   order it iterates).
 * - `u32`/`u64` fields as integers; `f64` fields (`weight`) the way serde
 *   prints them with ryu: the shortest digits that read back, always with a
 *   `.0` or an exponent (`1.0`, `0.1`, `1e-7`, `1e20`, `5e-324`, `-0.0`), which
 *   is not what `JSON.stringify` prints for `1` or `1e-6` or `1e20`.
 * - Strings escaped as serde escapes them: `\"`, `\\`, `\b \t \n \f \r`,
 *   other control characters as `\u00xx`; everything else (U+2028, DEL,
 *   astral characters) as is. This is also what `JSON.stringify` does for a
 *   well-formed string, so it is used for strings.
 * - Pretty (`to_string_pretty`): two-space indent, `"key": value`, `{}` and
 *   `[]` for empty ones, no final newline. Compact (`to_string`): no whitespace.
 *
 * A CCOS object's name is the SHA-256 of the compact form; its file is the
 * pretty form, so that the file without its insignificant whitespace is the
 * compact form ({@link stripJsonWhitespace}).
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { sha256Hex } from '../hash.js';
import { EDGE_FIELDS, INTENT_FIELDS, type FieldKind, type FieldSpec } from '../intent-graph/schema.js';
import type { Edge, StorableIntent } from '../intent-graph/types.js';

/** An `f64` value, printed the way serde (ryu) prints it. */
class F64 {
  constructor(readonly value: number) {}
}

/** A JSON tree with object entries in a fixed order (an array of pairs, so a `__proto__` key is plain data). */
type Node = null | string | number | F64 | Node[] | { readonly entries: readonly (readonly [string, Node])[] };

/**
 * A finite double as serde_json prints an `f64` (ryu's `format_finite`):
 * decimal for 1e-5 <= |x| < 1e16 (with `.0` for an integer), otherwise
 * `<d>[.<ddd>]e<exp>`; the digits are the shortest that read back, which are
 * the digits JavaScript prints.
 */
export function formatSerdeF64(x: number): string {
  if (!Number.isFinite(x)) throw new InvalidArgumentError(`serde cannot write ${String(x)} as a JSON number`);
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mantissa, exponent] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const length = digits.length;
  const kk = Number(exponent) + 1; // 10^(kk-1) <= |x| < 10^kk
  const k = kk - length; // |x| = digits * 10^k
  let body: string;
  if (k >= 0 && kk <= 16) body = `${digits}${'0'.repeat(k)}.0`;
  else if (kk > 0 && kk <= 16) body = `${digits.slice(0, kk)}.${digits.slice(kk)}`;
  else if (kk > -5 && kk <= 0) body = `0.${'0'.repeat(-kk)}${digits}`;
  else if (length === 1) body = `${digits}e${kk - 1}`;
  else body = `${digits[0]}.${digits.slice(1)}e${kk - 1}`;
  return sign + body;
}

function mapNode(map: Record<string, string>): Node {
  return { entries: Object.keys(map).map((k) => [k, map[k]!] as const) };
}

function fieldNode(kind: FieldKind, v: unknown): Node {
  switch (kind.type) {
    case 'string':
    case 'nullableString':
    case 'enum':
      return (v ?? null) as string | null;
    case 'u32':
    case 'u64':
      return v as number;
    case 'nullableNumber':
      return v === null || v === undefined ? null : new F64(v as number);
    case 'stringMap':
      return mapNode(v as Record<string, string>);
    case 'nullableStringMap':
      return v === null || v === undefined ? null : mapNode(v as Record<string, string>);
    case 'stringArray':
      return [...(v as string[])];
    case 'object':
      return structNode(kind.fields, v as Record<string, unknown>);
  }
}

function structNode(fields: readonly FieldSpec[], value: Record<string, unknown>): Node {
  return { entries: fields.map((f) => [f.name, fieldNode(f.kind, value[f.name])] as const) };
}

function write(node: Node, pretty: boolean, indent: string, out: string[]): void {
  if (node === null) out.push('null');
  else if (typeof node === 'string') out.push(JSON.stringify(node));
  else if (typeof node === 'number') out.push(String(node));
  else if (node instanceof F64) out.push(formatSerdeF64(node.value));
  else {
    const isArray = Array.isArray(node);
    const items: readonly (readonly [string | undefined, Node])[] = isArray ? node.map((v) => [undefined, v] as const) : (node as { entries: readonly (readonly [string, Node])[] }).entries;
    const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
    if (items.length === 0) {
      out.push(open + close);
      return;
    }
    const inner = indent + '  ';
    out.push(open);
    items.forEach(([key, value], i) => {
      if (i > 0) out.push(',');
      if (pretty) out.push('\n', inner);
      if (key !== undefined) out.push(JSON.stringify(key), pretty ? ': ' : ':');
      write(value, pretty, inner, out);
    });
    if (pretty) out.push('\n', indent);
    out.push(close);
  }
}

function stringify(node: Node, pretty: boolean): string {
  const out: string[] = [];
  write(node, pretty, '', out);
  return out.join('');
}

/** The two serde forms of one entity and its CCOS name. */
export interface SerdeForms {
  /** `serde_json::to_string_pretty`: the bytes of the file. */
  pretty: string;
  /** `serde_json::to_string`: what the name hashes. */
  compact: string;
  /** Lowercase hex SHA-256 of the UTF-8 of `compact`: the CCOS content hash. */
  hash: string;
}

function forms(node: Node): SerdeForms {
  const compact = stringify(node, false);
  return { pretty: stringify(node, true), compact, hash: sha256Hex(compact) };
}

/** A (valid) intent as serde writes a `StorableIntent`. */
export function serdeIntent(intent: StorableIntent): SerdeForms {
  return forms(structNode(INTENT_FIELDS, intent as unknown as Record<string, unknown>));
}

/** A (valid) edge as serde writes an `Edge`. */
export function serdeEdge(edge: Edge): SerdeForms {
  return forms(structNode(EDGE_FIELDS, edge as unknown as Record<string, unknown>));
}

/** A `HashMap<String, String>` as `to_string_pretty` writes it (CCOS's `index.json`), entries in the given order. */
export function serdePrettyStringMap(entries: readonly (readonly [string, string])[]): string {
  return stringify({ entries }, true);
}

/**
 * The bytes of a JSON text without its insignificant whitespace (space, tab,
 * CR, LF outside strings). For a `to_string_pretty` file that is exactly the
 * `to_string` form. Works on UTF-8 bytes directly: `"` and `\` never occur
 * inside a multi-byte sequence.
 */
export function stripJsonWhitespace(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  let n = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      out[n++] = b;
      if (escaped) escaped = false;
      else if (b === 0x5c) escaped = true;
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) {
      inString = true;
      out[n++] = b;
    } else if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) {
      out[n++] = b;
    }
  }
  return out.subarray(0, n);
}
