/** The RTFS snapshot: deterministic, complete, valid RTFS, and read back into the same graph. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RtfsSyntaxError, compareRtfsSnapshot, printRtfsSnapshot, readRtfs, readRtfsSnapshot, type IntentGraph } from '../src/index.js';
import { graphArbitrary, makeEdge, makeIntent, sampleGraph } from './support/intent-graph.js';

function refused(text: string): RtfsSyntaxError {
  try {
    readRtfsSnapshot(text);
  } catch (e) {
    expect(e).toBeInstanceOf(RtfsSyntaxError);
    return e as RtfsSyntaxError;
  }
  throw new Error('expected the snapshot to be refused');
}

/** Same graph, with -0 and 0 told apart (toEqual already does) and key sets compared exactly. */
function expectSameGraph(actual: IntentGraph, expected: IntentGraph): void {
  expect(Object.keys(actual.intents).sort()).toEqual(Object.keys(expected.intents).sort());
  expect(actual).toEqual(expected);
  actual.edges.forEach((e, i) => expect(Object.is(e.weight, expected.edges[i]!.weight)).toBe(true));
}

describe('printRtfsSnapshot', () => {
  it('prints every field of every intent and edge, as readable RTFS', () => {
    const g = { intents: { 'i-1': makeIntent('i-1') }, edges: [makeEdge('i-1', 'i-2', { weight: 0.5 })] };
    const text = printRtfsSnapshot(g);
    expect(text).toBe(`;; Intent graph snapshot (RTFS data)
(intent-graph
  (intents
    (intent
      {:id "i-1"
       :name "name of i-1"
       :session-id nil
       :original-request "please do i-1"
       :rtfs-intent "(intent \\"i-1\\" :goal \\"do i-1\\")"
       :goal "do i-1"
       :constraints {"budget" "(< cost 100)"}
       :preferences {}
       :success-criteria nil
       :parent-intent nil
       :child-intents []
       :triggered-by "HumanRequest"
       :generation-context {:arbiter-version "0.1.0" :generation-timestamp 1700000000 :input-context {"user" "ana"} :reasoning-trace nil}
       :status "Active"
       :priority 1
       :created-at 1700000000
       :updated-at 1700000100
       :metadata {}}))
  (edges
    (edge {:from "i-1" :to "i-2" :type "DependsOn" :metadata nil :weight 0.5})))
`);
    expect(readRtfs(text)).toHaveLength(1);
  });

  it('prints an empty graph', () => {
    const text = printRtfsSnapshot({ intents: {}, edges: [] });
    expect(text).toBe(';; Intent graph snapshot (RTFS data)\n(intent-graph\n  (intents)\n  (edges))\n');
    expect(readRtfsSnapshot(text)).toEqual({ intents: {}, edges: [] });
  });

  it('is deterministic: intents sorted by id and map keys sorted, whatever the insertion order', () => {
    const a = makeIntent('a', { metadata: { z: '1', a: '2' } });
    const b = makeIntent('b');
    const edges = [makeEdge('a', 'b'), makeEdge('b', 'a')];
    const one = printRtfsSnapshot({ intents: { a, b }, edges });
    const two = printRtfsSnapshot({ intents: { b, a: { ...a, metadata: { a: '2', z: '1' } } }, edges });
    expect(one).toBe(two);
    expect(one.indexOf('{:id "a"')).toBeLessThan(one.indexOf('{:id "b"'));
    expect(one).toContain(':metadata {"a" "2" "z" "1"}');
    // Edge order is data (CCOS keeps insertion order), so it is kept.
    expect(one.indexOf(':from "a"')).toBeLessThan(one.indexOf(':from "b"'));
  });
});

describe('readRtfsSnapshot(printRtfsSnapshot(g)) equals g', () => {
  it('on a hand-made graph with every enum, null and non-null options, duplicate edges, __proto__ keys', () => {
    const g = sampleGraph();
    const back = readRtfsSnapshot(printRtfsSnapshot(g));
    expectSameGraph(back, g);
    expect(Object.prototype.hasOwnProperty.call(back.intents['intent-0']!.metadata, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(back.intents['intent-0']!.metadata)).toBe(Object.prototype);
  });

  it('on random graphs with hostile strings and awkward weights (property)', () => {
    fc.assert(
      fc.property(graphArbitrary(), (g) => {
        const text = printRtfsSnapshot(g);
        expectSameGraph(readRtfsSnapshot(text), g);
        // The print of the read is the same text: the printer is a function of the graph.
        expect(printRtfsSnapshot(readRtfsSnapshot(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('a missing Option field reads as null, like a missing field in serde JSON', () => {
    const text = printRtfsSnapshot({ intents: { x: makeIntent('x', { name: 'n' }) }, edges: [makeEdge('x', 'x', { weight: 2 })] })
      .replace(':name "n"\n', '')
      .replace(' :weight 2.0', '');
    const g = readRtfsSnapshot(text);
    expect(g.intents.x!.name).toBeNull();
    expect(g.edges[0]!.weight).toBeNull();
  });
});

describe('readRtfsSnapshot refuses what is not a snapshot, with line:column', () => {
  const good = printRtfsSnapshot({ intents: { x: makeIntent('x') }, edges: [makeEdge('x', 'x')] });

  it('a missing required field', () => {
    const e = refused(good.replace(':goal "do x"\n', ''));
    expect(e.message).toContain('missing :goal');
    expect([e.line, e.column]).toEqual([5, 7]);
  });

  it('a wrong type, at the value', () => {
    const text = good.replace(':priority 1', ':priority "high"');
    const e = refused(text);
    expect(e.message).toContain('expected an integer from 0 to 4294967295');
    const line = text.split('\n').findIndex((l) => l.includes(':priority')) + 1;
    expect(e.line).toBe(line);
  });

  it('priority beyond u32, unknown enum, float where an integer belongs', () => {
    expect(refused(good.replace(':priority 1', ':priority 4294967296')).message).toContain('4294967295');
    expect(refused(good.replace(':status "Active"', ':status "Sleeping"')).message).toContain('IntentStatus');
    expect(refused(good.replace(':created-at 1700000000', ':created-at 1.5')).message).toContain('integer');
  });

  it('a duplicate intent id', () => {
    const twice = printRtfsSnapshot({ intents: { x: makeIntent('x'), y: makeIntent('y') }, edges: [] }).replace('{:id "y"', '{:id "x"');
    expect(refused(twice).message).toContain('appears twice');
  });

  it('the wrong top-level shape', () => {
    expect(refused('').message).toContain('no (intent-graph');
    expect(refused('(graph)').message).toContain('expected (intent-graph');
    expect(refused('(intent-graph (edges) (intents))').message).toContain('expected (intents');
    expect(refused('(intent-graph (intents))').message).toContain('missing (edges');
    expect(refused('(intent-graph (intents) (edges)) (more)').message).toContain('unexpected form');
    expect(refused('(intent-graph (intents (intent)) (edges))').message).toContain('expected (intent {...})');
  });

  it('syntax errors from the reader', () => {
    const e = refused(good.slice(0, 60));
    expect(e.message).toMatch(/unterminated string|unclosed/);
  });
});

describe('compareRtfsSnapshot', () => {
  const g = sampleGraph();

  it('finds no disagreement between a graph and its own snapshot', () => {
    expect(compareRtfsSnapshot(printRtfsSnapshot(g), g)).toEqual([]);
  });

  it('reports each disagreement as RTFS_MISMATCH', () => {
    const tampered = printRtfsSnapshot(g).replace(':goal "do intent-3"', ':goal "something else"');
    const warnings = compareRtfsSnapshot(tampered, g);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'RTFS_MISMATCH', path: '$.rtfs' });
    expect(warnings[0]!.message).toContain('intent "intent-3"');
    expect(warnings[0]!.message).toContain(':goal');
  });

  it('reports missing and extra intents and edges', () => {
    const fewer = { intents: { ...g.intents }, edges: g.edges.slice(1) };
    delete fewer.intents['intent-5'];
    const messages = compareRtfsSnapshot(printRtfsSnapshot(fewer), g).map((w) => w.message);
    expect(messages.some((m) => m.includes('"intent-5" is in the JSON but not in the snapshot'))).toBe(true);
    expect(messages.some((m) => m.includes('1 edge(s) of the JSON are not in the snapshot'))).toBe(true);
  });

  it('reports unreadable text as RTFS_UNREADABLE and never throws', () => {
    const warnings = compareRtfsSnapshot('(intent-graph (intents', g);
    expect(warnings).toEqual([expect.objectContaining({ code: 'RTFS_UNREADABLE' })]);
  });

  it('caps detailed warnings at 20 plus a summary', () => {
    const many: IntentGraph = { intents: {}, edges: [] };
    for (let i = 0; i < 30; i++) many.intents[`i${i}`] = makeIntent(`i${i}`);
    const warnings = compareRtfsSnapshot(printRtfsSnapshot({ intents: {}, edges: [] }), many);
    expect(warnings).toHaveLength(21);
    expect(warnings[20]!.message).toContain('and 10 more');
  });
});

describe('printRtfsSnapshot refuses an invalid graph with a typed error naming the path', () => {
  it('NaN weight, key that is not the id, missing field', () => {
    const bad = (g: unknown) => {
      try {
        printRtfsSnapshot(g as IntentGraph);
      } catch (e) {
        return e as { code: string; path: string };
      }
      throw new Error('expected a refusal');
    };
    expect(bad({ intents: {}, edges: [makeEdge('a', 'b', { weight: NaN })] })).toMatchObject({ code: 'INVALID_BACKUP', path: '$.edges[0].weight' });
    expect(bad({ intents: { a: makeIntent('b') }, edges: [] })).toMatchObject({ code: 'INVALID_BACKUP', path: '$.intents.a.intent_id' });
    expect(bad(null)).toMatchObject({ code: 'INVALID_BACKUP', path: '$' });
  });
});
