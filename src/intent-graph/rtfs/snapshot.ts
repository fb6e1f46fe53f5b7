/**
 * The RTFS snapshot of an intent graph: a human-readable rendering that is
 * also machine-readable, so `readRtfsSnapshot(printRtfsSnapshot(g))` equals `g`.
 *
 * ```clojure
 * ;; Intent graph snapshot (RTFS data)
 * (intent-graph
 *   (intents
 *     (intent
 *       {:id "i-1"
 *        :name nil
 *        ...
 *        :metadata {"k" "v"}}))
 *   (edges
 *     (edge {:from "i-1" :to "i-2" :type "DependsOn" :metadata nil :weight 0.5})))
 * ```
 *
 * Every field is printed, `null` as `nil`, enums as strings (as the CCOS
 * printer did), maps with string keys. Intents are sorted by id and map
 * entries by key, so one graph always prints the same text; edges keep their
 * order, because the order of the edge list is part of the graph.
 *
 * @module
 */
import { isWellFormedString } from '../../json/canonical.js';
import { InvalidBackupError, RtfsSyntaxError } from '../../errors.js';
import { EDGE_FIELDS, INTENT_FIELDS, hasOwn, isNullable, setOwn, type FieldKind, type FieldSpec } from '../schema.js';
import { U32_MAX, type Edge, type IntentGraph, type StorableIntent } from '../types.js';
import { DEFAULT_MAX_STRING_LENGTH, validateGraph, type GraphWarning } from '../validate.js';
import { printRtfsFloat, printRtfsInteger, printRtfsString } from './printer.js';
import { readRtfs, type RtfsNode, type RtfsPosition } from './reader.js';

/** The comment line that opens every printed snapshot. */
export const RTFS_SNAPSHOT_HEADER = ';; Intent graph snapshot (RTFS data)';

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function printMap(map: Record<string, string>): string {
  const keys = Object.keys(map).sort(byCodeUnits);
  return `{${keys.map((k) => `${printRtfsString(k)} ${printRtfsString(map[k]!)}`).join(' ')}}`;
}

function printValue(kind: FieldKind, v: unknown): string {
  if (v === null && isNullable(kind)) return 'nil';
  switch (kind.type) {
    case 'string':
    case 'nullableString':
    case 'enum':
      return printRtfsString(v as string);
    case 'u32':
    case 'u64':
      return printRtfsInteger(v as number);
    case 'nullableNumber':
      return printRtfsFloat(v as number);
    case 'stringMap':
    case 'nullableStringMap':
      return printMap(v as Record<string, string>);
    case 'stringArray':
      return `[${(v as string[]).map(printRtfsString).join(' ')}]`;
    case 'object':
      return printFields(kind.fields, v as Record<string, unknown>, ' ');
  }
}

function printFields(fields: readonly FieldSpec[], value: Record<string, unknown>, separator: string): string {
  return `{${fields.map((field) => `:${field.rtfs} ${printValue(field.kind, value[field.name])}`).join(separator)}}`;
}

/**
 * Renders `graph` as an RTFS snapshot. Deterministic: intents sorted by id,
 * map entries by key, edges in their list order. An invalid graph is refused
 * with `InvalidBackupError` naming the offending path.
 */
export function printRtfsSnapshot(graph: IntentGraph): string {
  // Bad input is a typed error naming its path, never a half-printed snapshot.
  if (typeof graph !== 'object' || graph === null) throw new InvalidBackupError('$', 'printRtfsSnapshot expects { intents, edges }');
  graph = validateGraph(graph, { maxStringLength: Infinity }).graph;
  const lines = [RTFS_SNAPSHOT_HEADER, '(intent-graph'];
  const ids = Object.keys(graph.intents).sort(byCodeUnits);
  lines.push(ids.length === 0 ? '  (intents)' : '  (intents');
  ids.forEach((id, i) => {
    const body = printFields(INTENT_FIELDS, graph.intents[id] as unknown as Record<string, unknown>, '\n       ');
    lines.push(`    (intent\n      ${body})${i === ids.length - 1 ? ')' : ''}`);
  });
  lines.push(graph.edges.length === 0 ? '  (edges))' : '  (edges');
  graph.edges.forEach((edge, i) => {
    const body = printFields(EDGE_FIELDS, edge as unknown as Record<string, unknown>, ' ');
    lines.push(`    (edge ${body})${i === graph.edges.length - 1 ? '))' : ''}`);
  });
  return lines.join('\n') + '\n';
}

/** Options of {@link readRtfsSnapshot}. */
export interface ReadRtfsSnapshotOptions {
  /** Longest string accepted in a field (default 1 MiB, as for JSON backups). */
  maxStringLength?: number;
}

interface DecodeCtx {
  maxStringLength: number;
}

const err = (at: RtfsPosition, message: string): never => {
  throw new RtfsSyntaxError(at.line, at.column, message);
};

function describeNode(node: RtfsNode): string {
  switch (node.kind) {
    case 'keyword':
      return `the keyword :${node.name}`;
    case 'symbol':
      return `the symbol ${node.name}`;
    case 'integer':
    case 'float':
      return `the ${node.kind} ${node.value}`;
    case 'string':
      return 'a string';
    default:
      return node.kind === 'nil' ? 'nil' : `a ${node.kind}`;
  }
}

function decodeString(node: RtfsNode, ctx: DecodeCtx, what = 'a string'): string {
  if (node.kind !== 'string') return err(node, `expected ${what}, found ${describeNode(node)}`);
  if (node.value.length > ctx.maxStringLength) err(node, `string of ${node.value.length} characters is longer than the limit of ${ctx.maxStringLength}`);
  if (!isWellFormedString(node.value)) err(node, 'string has a lone UTF-16 surrogate');
  return node.value;
}

function decodeStringMap(node: RtfsNode, ctx: DecodeCtx): Record<string, string> {
  if (node.kind !== 'map') return err(node, `expected a map of strings to strings, found ${describeNode(node)}`);
  const out: Record<string, string> = {};
  for (const [k, v] of node.entries) setOwn(out, decodeString(k, ctx, 'a string key'), decodeString(v, ctx));
  return out;
}

function decodeValue(kind: FieldKind, node: RtfsNode, ctx: DecodeCtx): unknown {
  if (node.kind === 'nil' && isNullable(kind)) return null;
  switch (kind.type) {
    case 'string':
    case 'nullableString':
      return decodeString(node, ctx, kind.type === 'string' ? 'a string' : 'a string or nil');
    case 'u32':
    case 'u64': {
      const max = kind.type === 'u32' ? U32_MAX : Number.MAX_SAFE_INTEGER;
      if (node.kind !== 'integer' || node.value < 0 || node.value > max) {
        return err(node, `expected an integer from 0 to ${max}, found ${describeNode(node)}`);
      }
      return node.value;
    }
    case 'nullableNumber':
      if (node.kind !== 'integer' && node.kind !== 'float') return err(node, `expected a number or nil, found ${describeNode(node)}`);
      return node.value;
    case 'stringMap':
    case 'nullableStringMap':
      return decodeStringMap(node, ctx);
    case 'stringArray':
      if (node.kind !== 'vector') return err(node, `expected a vector of strings, found ${describeNode(node)}`);
      return node.items.map((item) => decodeString(item, ctx));
    case 'enum': {
      const s = node.kind === 'string' ? node.value : undefined;
      if (s === undefined || !kind.values.includes(s)) {
        return err(node, `expected a ${kind.name} string (one of ${kind.values.map((x) => JSON.stringify(x)).join(', ')}), found ${describeNode(node)}`);
      }
      return s;
    }
    case 'object':
      return decodeFields(kind.fields, node, ctx, false).value;
  }
}

/**
 * Decodes a map of `:keyword value` entries into an object of `fields`.
 * In `partial` mode a missing required field is not an error: only the
 * present fields are returned (used to compare lossy snapshots).
 */
function decodeFields(
  fields: readonly FieldSpec[],
  node: RtfsNode,
  ctx: DecodeCtx,
  partial: boolean,
): { value: Record<string, unknown>; present: Set<string> } {
  if (node.kind !== 'map') return err(node, `expected a map, found ${describeNode(node)}`);
  const byKey = new Map<string, RtfsNode>();
  for (const [k, v] of node.entries) {
    if (k.kind !== 'keyword') err(k, `expected a keyword key, found ${describeNode(k)}`);
    byKey.set((k as { name: string }).name, v);
  }
  const value: Record<string, unknown> = {};
  const present = new Set<string>();
  for (const field of fields) {
    const v = byKey.get(field.rtfs);
    if (v === undefined) {
      if (partial) continue;
      if (!isNullable(field.kind)) err(node, `missing :${field.rtfs}`);
      value[field.name] = null;
      continue;
    }
    present.add(field.name);
    value[field.name] = decodeValue(field.kind, v, ctx);
  }
  return { value, present };
}

interface SnapshotEntries {
  intents: { node: RtfsNode; value: Record<string, unknown>; present: Set<string> }[];
  edges: { node: RtfsNode; value: Record<string, unknown>; present: Set<string> }[];
}

const isSymbol = (node: RtfsNode | undefined, name: string) => node?.kind === 'symbol' && node.name === name;

/** Walks `(intent-graph (intents (intent {...})...) (edges (edge {...})...))`. */
function walkSnapshot(text: string, ctx: DecodeCtx, partial: boolean): SnapshotEntries {
  const forms = readRtfs(text);
  if (forms.length === 0) err({ line: 1, column: 1 }, 'no (intent-graph ...) form in the text');
  const root = forms[0]!;
  if (forms.length > 1) err(forms[1]!, 'unexpected form after (intent-graph ...)');
  if (root.kind !== 'list' || !isSymbol(root.items[0], 'intent-graph')) err(root, 'expected (intent-graph (intents ...) (edges ...))');
  const sections = (root as { items: RtfsNode[] }).items.slice(1);
  const section = (index: number, name: string): RtfsNode[] => {
    const node = sections[index];
    if (!node) return err(root, `missing (${name} ...) in (intent-graph ...)`);
    if (node.kind !== 'list' || !isSymbol(node.items[0], name)) return err(node, `expected (${name} ...)`);
    return node.items.slice(1);
  };
  const intentNodes = section(0, 'intents');
  const edgeNodes = section(1, 'edges');
  if (sections.length > 2) err(sections[2]!, 'unexpected form after (edges ...)');

  const entry = (node: RtfsNode, name: string, fields: readonly FieldSpec[]) => {
    if (node.kind !== 'list' || node.items.length !== 2 || !isSymbol(node.items[0], name)) {
      return err(node, `expected (${name} {...})`);
    }
    return { node: node.items[1]!, ...decodeFields(fields, node.items[1]!, ctx, partial) };
  };
  return {
    intents: intentNodes.map((n) => entry(n, 'intent', INTENT_FIELDS)),
    edges: edgeNodes.map((n) => entry(n, 'edge', EDGE_FIELDS)),
  };
}

/**
 * Reads an RTFS snapshot back into the graph it was printed from. Fields that
 * are `Option`s in CCOS may be missing (read as `null`); unknown keys are
 * ignored. Throws {@link RtfsSyntaxError} with line:column on bad syntax or a
 * value of the wrong shape, a missing field, or an intent id given twice.
 */
export function readRtfsSnapshot(text: string, options?: ReadRtfsSnapshotOptions): IntentGraph {
  const ctx: DecodeCtx = { maxStringLength: options?.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH };
  const entries = walkSnapshot(text, ctx, false);
  const intents: Record<string, StorableIntent> = {};
  for (const { node, value } of entries.intents) {
    const id = value.intent_id as string;
    if (hasOwn(intents, id)) err(node, `intent ${JSON.stringify(id)} appears twice`);
    setOwn(intents, id, value as unknown as StorableIntent);
  }
  return { intents, edges: entries.edges.map((e) => e.value as unknown as Edge) };
}

/** Deep equality of JSON-like values (numbers by `===`, so -0 equals 0 as in JSON). */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const MAX_DETAILED_WARNINGS = 20;

/**
 * Compares an RTFS snapshot with the graph it should describe. Lossy
 * snapshots are fine: only the fields the snapshot states are compared (the
 * original CCOS printer wrote only `:id :goal :status :priority :name
 * :rtfs-intent` and `:from :to :type :weight`). Returns warnings, never
 * throws: `RTFS_UNREADABLE` when the text cannot be read, `RTFS_MISMATCH`
 * for each disagreement (at most 20 in detail, then one summary).
 */
export function compareRtfsSnapshot(text: string, graph: IntentGraph, options?: ReadRtfsSnapshotOptions): GraphWarning[] {
  const ctx: DecodeCtx = { maxStringLength: options?.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH };
  let entries: SnapshotEntries;
  try {
    entries = walkSnapshot(text, ctx, true);
  } catch (e) {
    if (!(e instanceof RtfsSyntaxError)) throw e;
    return [{ code: 'RTFS_UNREADABLE', path: '$.rtfs', message: `the rtfs snapshot could not be read (${e.message}); the JSON was used` }];
  }
  const problems: string[] = [];
  const at = (node: RtfsNode) => `line ${node.line} column ${node.column}`;

  const seen = new Set<string>();
  for (const { node, value, present } of entries.intents) {
    if (!present.has('intent_id')) {
      problems.push(`an intent at ${at(node)} has no :id`);
      continue;
    }
    const id = value.intent_id as string;
    seen.add(id);
    const intent = hasOwn(graph.intents, id) ? (graph.intents[id] as unknown as Record<string, unknown>) : undefined;
    if (!intent) {
      problems.push(`intent ${JSON.stringify(id)} (${at(node)}) is not in the JSON`);
      continue;
    }
    for (const field of present) {
      if (!jsonEqual(value[field], intent[field])) {
        const spec = INTENT_FIELDS.find((f) => f.name === field)!;
        problems.push(`intent ${JSON.stringify(id)} (${at(node)}): :${spec.rtfs} differs from the JSON ${field}`);
      }
    }
  }
  for (const id of Object.keys(graph.intents)) {
    if (!seen.has(id)) problems.push(`intent ${JSON.stringify(id)} is in the JSON but not in the snapshot`);
  }

  // Edges form a multiset: each snapshot edge must match a distinct JSON edge on
  // the fields it states. Candidates are bucketed by endpoints to stay near linear.
  const jsonEdges = graph.edges as unknown as Record<string, unknown>[];
  const used = new Array<boolean>(jsonEdges.length).fill(false);
  const endpoints = (e: Record<string, unknown>) => `${e.from as string}\u0000${e.to as string}`;
  const buckets = new Map<string, number[]>();
  jsonEdges.forEach((e, i) => {
    const key = endpoints(e);
    const bucket = buckets.get(key);
    if (bucket) bucket.push(i);
    else buckets.set(key, [i]);
  });
  const all = jsonEdges.map((_, i) => i);
  for (const { node, value, present } of entries.edges) {
    const candidates = present.has('from') && present.has('to') ? (buckets.get(endpoints(value)) ?? []) : all;
    const i = candidates.find((j) => !used[j] && [...present].every((field) => jsonEqual(value[field], jsonEdges[j]![field])));
    if (i === undefined) problems.push(`edge at ${at(node)} matches no edge of the JSON`);
    else used[i] = true;
  }
  const extra = used.filter((u) => !u).length;
  if (extra > 0) problems.push(`${extra} edge(s) of the JSON are not in the snapshot`);

  const warnings: GraphWarning[] = problems.slice(0, MAX_DETAILED_WARNINGS).map((message) => ({
    code: 'RTFS_MISMATCH',
    path: '$.rtfs',
    message: `${message}; the JSON was used`,
  }));
  if (problems.length > MAX_DETAILED_WARNINGS) {
    warnings.push({ code: 'RTFS_MISMATCH', path: '$.rtfs', message: `and ${problems.length - MAX_DETAILED_WARNINGS} more disagreements between the rtfs snapshot and the JSON` });
  }
  return warnings;
}
