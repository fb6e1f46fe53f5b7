import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, canonicalize, formatJsonPath, parseJson } from '../src/json/canonical.js';
import { InvalidJsonError } from '../src/errors.js';

const vectors = fileURLToPath(new URL('./vectors/jcs/', import.meta.url));
const names = readdirSync(`${vectors}input`).filter((f) => f.endsWith('.json'));

function refusal(fn: () => unknown): InvalidJsonError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidJsonError);
    expect((e as InvalidJsonError).code).toBe('INVALID_JSON');
    return e as InvalidJsonError;
  }
  throw new Error('expected an InvalidJsonError');
}

describe('RFC 8785 vectors', () => {
  it('has the six published vectors', () => expect(names.length).toBe(6));
  for (const name of names) {
    it(`${name} canonicalizes byte-exactly`, () => {
      const input = JSON.parse(readFileSync(`${vectors}input/${name}`, 'utf8'));
      const expected = new Uint8Array(readFileSync(`${vectors}output/${name}`));
      expect(Buffer.from(canonicalBytes(input)).equals(Buffer.from(expected))).toBe(true);
    });
  }
  it('the strict parser agrees with JSON.parse on every vector it accepts', () => {
    for (const name of names) {
      const text = readFileSync(`${vectors}input/${name}`, 'utf8');
      if (name === 'values.json') continue; // refused below: it spells a number with more digits than a double holds
      expect(canonicalize(parseJson(text))).toBe(canonicalize(JSON.parse(text)));
    }
  });
  it('the strict parser refuses values.json: 333333333.33333329 is not held exactly by a double', () => {
    const e = refusal(() => parseJson(readFileSync(`${vectors}input/values.json`, 'utf8')));
    expect(e.path).toBe('$.numbers[0]');
    expect(e.message).toContain('333333333.3333333');
  });
});

describe('canonicalize', () => {
  it('sorts keys by UTF-16 code units, not code points', () => {
    // U+1F600 is a surrogate pair starting 0xD83D, which sorts before U+FB33 in UTF-16 order.
    expect(canonicalize({ '\ufb33': 1, '\u{1f600}': 2, a: 3, B: 4 })).toBe('{"B":4,"a":3,"\u{1f600}":2,"\ufb33":1}');
  });
  it('serialises numbers the ECMAScript way', () => {
    expect(canonicalize([0, -0, 1e21, 1e-7, 123.456, -1.5e300, 5e-324, 2 ** 53])).toBe(
      '[0,0,1e+21,1e-7,123.456,-1.5e+300,5e-324,9007199254740992]',
    );
  });
  it('escapes strings as JCS says', () => {
    expect(canonicalize('\u0000\b\t\n\f\r"\\/\u001f\u007f€')).toBe('"\\u0000\\b\\t\\n\\f\\r\\"\\\\/\\u001f\u007f€"');
  });
  it('keeps __proto__ as plain data', () => {
    const v = JSON.parse('{"__proto__":{"x":1},"a":2}');
    expect(canonicalize(v)).toBe('{"__proto__":{"x":1},"a":2}');
  });
  it('accepts null-prototype objects', () => {
    const o = Object.create(null) as Record<string, number>;
    o.b = 1;
    o.a = 2;
    expect(canonicalize(o)).toBe('{"a":2,"b":1}');
  });

  const refused: [string, unknown, string][] = [
    ['NaN', { a: [1, NaN] }, '$.a[1]'],
    ['Infinity', { intents: { a: { priority: Infinity } } }, '$.intents.a.priority'],
    ['-Infinity', [-Infinity], '$[0]'],
    ['undefined', { a: undefined }, '$.a'],
    ['a function', { f: () => 1 }, '$.f'],
    ['a symbol', [Symbol('s')], '$[0]'],
    ['a BigInt', { 'odd key': 1n }, '$["odd key"]'],
    ['a Date', { d: new Date(0) }, '$.d'],
    ['a Map', new Map(), '$'],
    ['a class instance', { x: new (class Point {})() }, '$.x'],
    ['a typed array', { b: new Uint8Array(1) }, '$.b'],
    ['a lone high surrogate', { s: 'a\ud800' }, '$.s'],
    ['a lone low surrogate in a key', { '\udc00': 1 }, '$'],
    ['a sparse array', [1, , 3], '$[1]'],
    ['a symbol key', { [Symbol('k')]: 1 }, '$'],
  ];
  for (const [what, value, path] of refused) {
    it(`refuses ${what} and names ${path}`, () => {
      const e = refusal(() => canonicalize(value));
      expect(e.path).toBe(path);
      expect(e.message.startsWith(path)).toBe(true);
    });
  }
  it('refuses cycles', () => {
    const a: Record<string, unknown> = { b: {} };
    (a.b as Record<string, unknown>).back = a;
    expect(refusal(() => canonicalize(a)).path).toBe('$.b.back');
  });
  it('allows the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(canonicalize([shared, shared])).toBe('[{"x":1},{"x":1}]');
  });
  it('refuses nesting deeper than maxDepth', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 50; i++) deep = [deep];
    expect(refusal(() => canonicalize(deep, { maxDepth: 10 })).message).toContain('deeper than 10');
    expect(canonicalize(deep)).toMatch(/^\[{50}1\]{50}$/);
  });
  it('formats paths readably', () => {
    expect(formatJsonPath(['intents', 'a b', 3, '$x', '1st'])).toBe('$.intents["a b"][3].$x["1st"]');
  });
});

describe('canonicalize properties', () => {
  const json = fc.jsonValue({ maxDepth: 4 });
  it('is idempotent: canonicalize(parse(canonicalize(v))) === canonicalize(v)', () => {
    fc.assert(
      fc.property(json, (v) => {
        const c = canonicalize(v);
        expect(canonicalize(JSON.parse(c))).toBe(c);
        expect(canonicalize(parseJson(c))).toBe(c);
      }),
      { numRuns: 300 },
    );
  });
  it('does not depend on key insertion order', () => {
    const shuffle = (v: unknown, seed: number): unknown => {
      if (Array.isArray(v)) return v.map((x, i) => shuffle(x, seed + i));
      if (v && typeof v === 'object') {
        const entries = Object.entries(v);
        entries.sort((a, b) => ((a[0].length * 7 + seed) % 5) - ((b[0].length * 7 + seed) % 5) || (seed % 2 ? 1 : -1));
        return Object.fromEntries(entries.reverse().map(([k, x]) => [k, shuffle(x, seed + 1)]));
      }
      return v;
    };
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 1000 }), (v, seed) => {
        expect(canonicalize(shuffle(v, seed))).toBe(canonicalize(v));
      }),
      { numRuns: 300 },
    );
  });
  it('produces text JSON.parse reads back to an equal value', () => {
    fc.assert(
      fc.property(json, (v) => {
        expect(JSON.parse(canonicalize(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('parseJson', () => {
  it('parses RFC 8259 JSON', () => {
    expect(parseJson(' {"a": [1, 2.5, -0.5e3, true, false, null, "x\\u00e9\\n"]} ')).toEqual({
      a: [1, 2.5, -500, true, false, null, 'xé\n'],
    });
  });
  it('keeps a "__proto__" key as data without touching the prototype', () => {
    const v = parseJson('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  const bad: [string, string, string][] = [
    ['duplicate keys', '{"a":1,"b":{"c":1,"c":2}}', 'duplicate key "c"'],
    ['an escaped lone surrogate', '{"s":"\\ud800"}', 'lone UTF-16 surrogate'],
    ['an escaped lone low surrogate', '["\\udc00x"]', 'lone UTF-16 surrogate'],
    ['a big integer beyond 2^53', '{"id": 12345678901234567890}', 'cannot be held exactly'],
    ['too many fraction digits', '[0.10000000000000001]', 'cannot be held exactly'],
    ['overflow', '[1e400]', 'overflows'],
    ['underflow', '[1e-400]', 'underflows'],
    ['NaN', '[NaN]', 'unexpected character'],
    ['a trailing comma', '[1,]', 'unexpected character'],
    ['single quotes', "{'a':1}", 'expected a string key'],
    ['a leading zero', '[01]', "expected ',' or ']'"],
    ['a raw control character', '["a\u0001"]', 'control character'],
    ['truncated text', '{"a": [1, 2', 'unexpected end'],
    ['trailing text', '{} {}', 'after the JSON value'],
    ['empty text', '', 'unexpected end'],
    ['a byte-order mark', '\ufeff{}', 'unexpected character'],
    ['a bad escape', '["\\x41"]', 'bad escape'],
    ['comments', '{"a":1 /* c */}', "expected ',' or '}'"],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses ${what}`, () => expect(refusal(() => parseJson(text)).message).toContain(message));
  }
  it('says where the problem is', () => {
    const e = refusal(() => parseJson('{\n  "a": {\n    "b": 1,\n    "b": 2\n  }\n}'));
    expect(e.path).toBe('$.a');
    expect(e.message).toContain('line 4 column 5');
  });
  it('accepts numbers that are exact however they are spelled', () => {
    expect(parseJson('[1.0, 1e2, 0.5E-1, -0, 9007199254740992e-0, 1.50, 0.1]')).toEqual([1, 100, 0.05, -0, 9007199254740992, 1.5, 0.1]);
    expect(() => parseJson('[9007199254740993]')).toThrow(InvalidJsonError);
  });
  it('refuses nesting deeper than maxDepth instead of overflowing the stack', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(refusal(() => parseJson(deep)).message).toContain('deeper than 1000');
  });
});
