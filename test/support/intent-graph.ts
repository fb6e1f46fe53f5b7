/** Intent-graph test data: a hand-made sample and fast-check arbitraries (hostile strings included). */
import fc from 'fast-check';
import { EDGE_TYPES, INTENT_STATUSES, TRIGGER_SOURCES, U32_MAX, type Edge, type IntentGraph, type StorableIntent } from '../../src/index.js';

/** A plain, valid intent; `overrides` replace fields. */
export function makeIntent(id: string, overrides: Partial<StorableIntent> = {}): StorableIntent {
  return {
    intent_id: id,
    name: `name of ${id}`,
    session_id: null,
    original_request: `please do ${id}`,
    rtfs_intent_source: `(intent "${id}" :goal "do ${id}")`,
    goal: `do ${id}`,
    constraints: { budget: '(< cost 100)' },
    preferences: {},
    success_criteria: null,
    parent_intent: null,
    child_intents: [],
    triggered_by: 'HumanRequest',
    generation_context: { arbiter_version: '0.1.0', generation_timestamp: 1_700_000_000, input_context: { user: 'ana' }, reasoning_trace: null },
    status: 'Active',
    priority: 1,
    created_at: 1_700_000_000,
    updated_at: 1_700_000_100,
    metadata: {},
    ...overrides,
  };
}

/** A plain, valid edge. */
export function makeEdge(from: string, to: string, overrides: Partial<Edge> = {}): Edge {
  return { from, to, edge_type: 'DependsOn', metadata: null, weight: null, ...overrides };
}

/** A small graph using every enum value and both null and non-null options. */
export function sampleGraph(): IntentGraph {
  const intents: Record<string, StorableIntent> = {};
  INTENT_STATUSES.forEach((status, i) => {
    const id = `intent-${i}`;
    intents[id] = makeIntent(id, {
      status,
      priority: i * 1000,
      triggered_by: TRIGGER_SOURCES[i % TRIGGER_SOURCES.length]!,
      name: i % 2 ? null : `Intent ${i} "quoted" \\ back; (paren)\nline two`,
      session_id: i % 3 ? `session-${i}` : null,
      parent_intent: i > 0 ? 'intent-0' : null,
      child_intents: i === 0 ? ['intent-1', 'intent-2'] : [],
      success_criteria: i % 2 ? '(= status :done)' : null,
      metadata: { 'émoji 🚀': 'yes' },
    });
    // A `__proto__` key must stay plain data everywhere (a literal would not even create it).
    Object.defineProperty(intents[id]!.metadata, '__proto__', { value: 'plain data', enumerable: true, writable: true, configurable: true });
  });
  const edges: Edge[] = EDGE_TYPES.map((edge_type, i) =>
    makeEdge(`intent-${i % 6}`, `intent-${(i + 1) % 6}`, {
      edge_type,
      weight: i % 2 ? null : [0.1, 1, 1e21, 5e-324][i / 2]!,
      metadata: i % 3 ? null : { why: `because ${i}` },
    }),
  );
  edges.push(makeEdge('intent-0', 'intent-1'));
  edges.push(makeEdge('intent-0', 'intent-1')); // equal edges: CCOS keeps both
  return { intents, edges };
}

/** Strings that break naive printers: quotes, backslashes, newlines, `;`, parens, unicode (astral too). */
export const hostileString = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\r', '\t', ';', '(', ')', '[', ']', '{', '}', ':', ' ', 'a', 'é', '🚀', '\u2028', '\u0000', 'nil') , maxLength: 12 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constantFrom('', 'nil', 'true', '__proto__', 'constructor', ';; comment', '"\\"', '\\n') },
  );

const stringMap = () =>
  fc.dictionary(hostileString(), hostileString(), { maxKeys: 4, noNullPrototype: true }).map((d) => {
    // Rebuild with own data properties so keys like `__proto__` stay keys.
    const out: Record<string, string> = {};
    for (const k of Object.keys(d)) Object.defineProperty(out, k, { value: d[k], enumerable: true, writable: true, configurable: true });
    return out;
  });
const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });
const u64 = () => fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

export const intentArbitrary = (id: fc.Arbitrary<string> = hostileString()): fc.Arbitrary<StorableIntent> =>
  fc.record({
    intent_id: id,
    name: nullable(hostileString()),
    session_id: nullable(hostileString()),
    original_request: hostileString(),
    rtfs_intent_source: hostileString(),
    goal: hostileString(),
    constraints: stringMap(),
    preferences: stringMap(),
    success_criteria: nullable(hostileString()),
    parent_intent: nullable(hostileString()),
    child_intents: fc.array(hostileString(), { maxLength: 3 }),
    triggered_by: fc.constantFrom(...TRIGGER_SOURCES),
    generation_context: fc.record({
      arbiter_version: hostileString(),
      generation_timestamp: u64(),
      input_context: stringMap(),
      reasoning_trace: nullable(hostileString()),
    }),
    status: fc.constantFrom(...INTENT_STATUSES),
    priority: fc.oneof(fc.constantFrom(0, U32_MAX), fc.integer({ min: 0, max: U32_MAX })),
    created_at: u64(),
    updated_at: u64(),
    metadata: stringMap(),
  });

/** Weights including the awkward ones: 0.1, 1e21, 5e-324, -0, integers, huge and tiny doubles. */
export const weightArbitrary = (withNegativeZero = true) =>
  fc.oneof(
    fc.constantFrom(...(withNegativeZero ? [0.1, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, -0, 0, 1, -1.5, 123456789.123] : [0.1, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, 0, 1, -1.5])),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((w) => withNegativeZero || !Object.is(w, -0)),
  );

export const edgeArbitrary = (ids: fc.Arbitrary<string>, withNegativeZero = true): fc.Arbitrary<Edge> =>
  fc.record({
    from: ids,
    to: ids,
    edge_type: fc.constantFrom(...EDGE_TYPES),
    metadata: nullable(stringMap()),
    weight: nullable(weightArbitrary(withNegativeZero)),
  });

/** Random graphs: intents keyed by their ids, edges among them plus some dangling ones. */
export const graphArbitrary = (options: { maxIntents?: number; withNegativeZero?: boolean } = {}): fc.Arbitrary<IntentGraph> =>
  fc
    .uniqueArray(hostileString(), { maxLength: options.maxIntents ?? 6 })
    .chain((ids) =>
      fc.record({
        intents: fc.tuple(...ids.map((id) => intentArbitrary(fc.constant(id)))).map((list) => {
          const intents: Record<string, StorableIntent> = {};
          for (const intent of list) Object.defineProperty(intents, intent.intent_id, { value: intent, enumerable: true, writable: true, configurable: true });
          return intents;
        }),
        edges: fc.array(edgeArbitrary(ids.length > 0 ? fc.oneof(fc.constantFrom(...ids), hostileString()) : hostileString(), options.withNegativeZero), { maxLength: 6 }),
      }),
    );
