/**
 * Validation of intent-graph data coming from outside (a backup, an API call):
 * every part checked against the CCOS shapes, every failure an
 * {@link InvalidBackupError} naming the path of the offending part, e.g.
 * `$.intents["i-1"].priority`.
 *
 * Validators return a fresh, normalised copy: fields in serde order, missing
 * `Option` fields as `null`, unknown fields dropped (and reported). Input
 * objects are never kept or modified.
 *
 * @module
 */
import { formatJsonPath, isWellFormedString } from '../json/canonical.js';
import { InvalidBackupError } from '../errors.js';
import { EDGE_FIELDS, INTENT_FIELDS, hasOwn, isNullable, setOwn, type FieldKind, type FieldSpec } from './schema.js';
import { U32_MAX, type Edge, type IntentGraph, type StorableIntent, type StringMap } from './types.js';

/** Default longest string accepted in an intent or edge field (1 MiB of UTF-16 code units). */
export const DEFAULT_MAX_STRING_LENGTH = 1024 * 1024;

/** Limits applied while validating; hostile input beyond them is refused, never truncated. */
export interface ValidationLimits {
  /**
   * Longest string (in UTF-16 code units) accepted in any intent or edge field
   * or map key. Default {@link DEFAULT_MAX_STRING_LENGTH}.
   */
  maxStringLength?: number;
}

/** Options of the validators. */
export interface ValidateOptions extends ValidationLimits {
  /** Path of the value inside its document, for error messages (default `$`). */
  path?: readonly (string | number)[];
  /** When given, receives the path of every unknown (ignored) field. */
  unknownFields?: string[];
}

/** Why a restore or validation went ahead but wants you to know something. */
export type GraphWarningCode =
  /** An edge names an intent that is not in the graph (CCOS itself leaves such edges: deleting an intent keeps its edges). */
  | 'DANGLING_EDGE'
  /** `parent_intent` or a `child_intents` entry names an intent that is not in the graph. */
  | 'DANGLING_REFERENCE'
  /** Fields this release does not know were ignored. */
  | 'UNKNOWN_FIELDS'
  /** The backup declares a newer minor version of the format; it was read as 1.1. */
  | 'NEWER_MINOR_VERSION'
  /** The `rtfs` snapshot disagrees with the JSON; the JSON was used. */
  | 'RTFS_MISMATCH'
  /** The `rtfs` snapshot is not readable RTFS; the JSON was used. */
  | 'RTFS_UNREADABLE';

/** A non-fatal finding. */
export interface GraphWarning {
  code: GraphWarningCode;
  /** JSON path of the part concerned (`$` for the whole document). */
  path: string;
  message: string;
}

type Path = (string | number)[];

interface Ctx {
  maxStringLength: number;
  unknownFields: string[] | undefined;
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return `the number ${v}`;
  return typeof v;
}

const fail = (path: Path, message: string): never => {
  throw new InvalidBackupError(formatJsonPath(path), message);
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function checkString(v: unknown, path: Path, ctx: Ctx, what = 'a string'): string {
  if (typeof v !== 'string') return fail(path, `expected ${what}, got ${describeType(v)}`);
  if (v.length > ctx.maxStringLength) {
    fail(path, `string of ${v.length} characters is longer than the limit of ${ctx.maxStringLength} (raise maxStringLength to accept it)`);
  }
  if (!isWellFormedString(v)) fail(path, 'string has a lone UTF-16 surrogate, which JSON text cannot carry');
  return v;
}

function checkStringMap(v: unknown, path: Path, ctx: Ctx): StringMap {
  if (!isPlainObject(v)) return fail(path, `expected an object mapping strings to strings, got ${describeType(v)}`);
  const out: StringMap = {};
  for (const key of Object.keys(v)) {
    checkString(key, path, ctx, 'a string key');
    path.push(key);
    setOwn(out, key, checkString(v[key], path, ctx));
    path.pop();
  }
  return out;
}

function checkInteger(v: unknown, path: Path, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    fail(path, `expected ${what}, got ${describeType(v)}`);
  }
  return v as number;
}

function checkField(kind: FieldKind, v: unknown, path: Path, ctx: Ctx): unknown {
  switch (kind.type) {
    case 'string':
      return checkString(v, path, ctx);
    case 'nullableString':
      return v === null || v === undefined ? null : checkString(v, path, ctx, 'a string or null');
    case 'u32':
      return checkInteger(v, path, U32_MAX, `an integer from 0 to ${U32_MAX} (u32)`);
    case 'u64':
      return checkInteger(v, path, Number.MAX_SAFE_INTEGER, 'a non-negative integer of unix seconds (at most 2^53-1)');
    case 'nullableNumber':
      if (v === null || v === undefined) return null;
      if (typeof v !== 'number' || !Number.isFinite(v)) return fail(path, `expected a finite number or null, got ${describeType(v)}`);
      return v;
    case 'stringMap':
      return checkStringMap(v, path, ctx);
    case 'nullableStringMap':
      return v === null || v === undefined ? null : checkStringMap(v, path, ctx);
    case 'stringArray': {
      if (!Array.isArray(v)) return fail(path, `expected an array of strings, got ${describeType(v)}`);
      const out: string[] = [];
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        if (!(i in v)) fail(path, 'sparse array hole');
        out.push(checkString(v[i], path, ctx));
        path.pop();
      }
      return out;
    }
    case 'enum':
      if (typeof v !== 'string' || !kind.values.includes(v)) {
        return fail(path, `expected a ${kind.name} (one of ${kind.values.map((x) => JSON.stringify(x)).join(', ')}), got ${describeType(v)}${typeof v === 'string' ? ` ${JSON.stringify(v.slice(0, 40))}` : ''}`);
      }
      return v;
    case 'object':
      return checkObject(kind.fields, v, path, ctx);
  }
}

function checkObject(fields: readonly FieldSpec[], v: unknown, path: Path, ctx: Ctx): Record<string, unknown> {
  if (!isPlainObject(v)) return fail(path, `expected an object, got ${describeType(v)}`);
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    path.push(field.name);
    const present = hasOwn(v, field.name);
    if (!present && !isNullable(field.kind)) fail(path, 'required field is missing');
    out[field.name] = checkField(field.kind, present ? v[field.name] : undefined, path, ctx);
    path.pop();
  }
  if (ctx.unknownFields) {
    for (const key of Object.keys(v)) {
      if (!fields.some((field) => field.name === key)) ctx.unknownFields.push(formatJsonPath([...path, key]));
    }
  }
  return out;
}

function makeCtx(options: ValidateOptions | undefined): Ctx {
  return {
    maxStringLength: options?.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH,
    unknownFields: options?.unknownFields,
  };
}

/**
 * Checks that `value` is a `StorableIntent` and returns a normalised copy.
 * Throws {@link InvalidBackupError} whose `path` names the offending part.
 */
export function validateIntent(value: unknown, options?: ValidateOptions): StorableIntent {
  return checkObject(INTENT_FIELDS, value, [...(options?.path ?? [])], makeCtx(options)) as unknown as StorableIntent;
}

/**
 * Checks that `value` is an `Edge` and returns a normalised copy.
 * Throws {@link InvalidBackupError} whose `path` names the offending part.
 */
export function validateEdge(value: unknown, options?: ValidateOptions): Edge {
  return checkObject(EDGE_FIELDS, value, [...(options?.path ?? [])], makeCtx(options)) as unknown as Edge;
}

/**
 * Checks a whole graph: `intents` an object whose every key equals its
 * intent's `intent_id` (refused otherwise: which of the two is right cannot be
 * known), `edges` an array of edges. Edges and parent/child references naming
 * an intent that is not in the graph are kept and reported as warnings,
 * because the CCOS producer itself leaves them behind (deleting an intent
 * keeps its edges).
 */
export function validateGraph(
  value: { intents: unknown; edges: unknown },
  options?: ValidateOptions,
): { graph: IntentGraph; warnings: GraphWarning[] } {
  const base = [...(options?.path ?? [])];
  const ctx = makeCtx(options);
  const path: Path = [...base, 'intents'];
  if (!isPlainObject(value.intents)) fail(path, `expected an object of intents by id, got ${describeType(value.intents)}`);
  const rawIntents = value.intents as Record<string, unknown>;
  const intents: Record<string, StorableIntent> = {};
  for (const key of Object.keys(rawIntents)) {
    path.push(key);
    const intent = checkObject(INTENT_FIELDS, rawIntents[key], path, ctx) as unknown as StorableIntent;
    if (intent.intent_id !== key) {
      path.push('intent_id');
      fail(path, `intent_id ${JSON.stringify(intent.intent_id.slice(0, 80))} differs from its key in the intents map; refusing to guess which is right`);
    }
    setOwn(intents, key, intent);
    path.pop();
  }
  path.pop();
  path.push('edges');
  if (!Array.isArray(value.edges)) fail(path, `expected an array of edges, got ${describeType(value.edges)}`);
  const rawEdges = value.edges as unknown[];
  const edges: Edge[] = [];
  for (let i = 0; i < rawEdges.length; i++) {
    path.push(i);
    if (!(i in rawEdges)) fail(path, 'sparse array hole');
    edges.push(checkObject(EDGE_FIELDS, rawEdges[i], path, ctx) as unknown as Edge);
    path.pop();
  }
  const graph = { intents, edges };
  return { graph, warnings: danglingWarnings(graph, base) };
}

/** Warnings for edges and parent/child references that name intents missing from the graph. */
export function danglingWarnings(graph: IntentGraph, base: readonly (string | number)[] = []): GraphWarning[] {
  const warnings: GraphWarning[] = [];
  const known = (id: string) => hasOwn(graph.intents, id);
  graph.edges.forEach((edge, i) => {
    const missing = [edge.from, edge.to].filter((id) => !known(id));
    if (missing.length > 0) {
      warnings.push({
        code: 'DANGLING_EDGE',
        path: formatJsonPath([...base, 'edges', i]),
        message: `edge ${edge.edge_type} ${JSON.stringify(edge.from)} -> ${JSON.stringify(edge.to)} names ${missing.map((id) => JSON.stringify(id)).join(' and ')}, not in the graph; kept as is`,
      });
    }
  });
  for (const id of Object.keys(graph.intents)) {
    const intent = graph.intents[id]!;
    if (intent.parent_intent !== null && !known(intent.parent_intent)) {
      warnings.push({
        code: 'DANGLING_REFERENCE',
        path: formatJsonPath([...base, 'intents', id, 'parent_intent']),
        message: `parent_intent ${JSON.stringify(intent.parent_intent)} is not in the graph; kept as is`,
      });
    }
    intent.child_intents.forEach((child, i) => {
      if (!known(child)) {
        warnings.push({
          code: 'DANGLING_REFERENCE',
          path: formatJsonPath([...base, 'intents', id, 'child_intents', i]),
          message: `child intent ${JSON.stringify(child)} is not in the graph; kept as is`,
        });
      }
    });
  }
  return warnings;
}
