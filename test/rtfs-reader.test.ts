/** The RTFS data reader and literal printers: the subset of the grammar, positions, and typed errors. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RtfsSyntaxError, printRtfsFloat, printRtfsString, readRtfs, type RtfsNode } from '../src/index.js';

/** The node without positions, for compact comparisons. */
function strip(node: RtfsNode): unknown {
  switch (node.kind) {
    case 'nil':
      return null;
    case 'boolean':
    case 'string':
      return node.value;
    case 'integer':
      return { int: node.value };
    case 'float':
      return { float: node.value };
    case 'keyword':
      return `:${node.name}`;
    case 'symbol':
      return { sym: node.name };
    case 'list':
      return { list: node.items.map(strip) };
    case 'vector':
      return node.items.map(strip);
    case 'map':
      return { map: node.entries.map(([k, v]) => [strip(k), strip(v)]) };
  }
}

const read1 = (text: string) => {
  const forms = readRtfs(text);
  expect(forms).toHaveLength(1);
  return strip(forms[0]!);
};

function syntaxError(text: string): RtfsSyntaxError {
  try {
    readRtfs(text);
  } catch (e) {
    expect(e).toBeInstanceOf(RtfsSyntaxError);
    expect((e as RtfsSyntaxError).code).toBe('RTFS_SYNTAX');
    return e as RtfsSyntaxError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe('readRtfs: the data subset', () => {
  it('reads scalars', () => {
    expect(read1('nil')).toBe(null);
    expect(read1('true')).toBe(true);
    expect(read1('false')).toBe(false);
    expect(read1('42')).toEqual({ int: 42 });
    expect(read1('-7')).toEqual({ int: -7 });
    expect(read1('+7')).toEqual({ int: 7 });
    expect(read1('1.5')).toEqual({ float: 1.5 });
    expect(read1('-0.0')).toEqual({ float: -0 });
    expect(Object.is((readRtfs('-0.0')[0] as { value: number }).value, -0)).toBe(true);
    expect(read1('1.0e21')).toEqual({ float: 1e21 });
    expect(read1('2.5E-3')).toEqual({ float: 0.0025 });
    expect(read1(':name')).toBe(':name');
    expect(read1(':ns.sub/name')).toBe(':ns.sub/name');
    expect(read1(':rtfs-intent')).toBe(':rtfs-intent');
    expect(read1('intent-graph')).toEqual({ sym: 'intent-graph' });
    expect(read1('-')).toEqual({ sym: '-' });
    expect(read1('nil?')).toEqual({ sym: 'nil?' });
    expect(read1('trueish')).toEqual({ sym: 'trueish' });
  });

  it('reads strings with the RTFS escapes, and raw newlines and unicode', () => {
    expect(read1('"a\\"b\\\\c\\nd\\te\\rf"')).toBe('a"b\\c\nd\te\rf');
    expect(read1('"line one\nline two"')).toBe('line one\nline two');
    expect(read1('"; not a comment (nor a list)"')).toBe('; not a comment (nor a list)');
    expect(read1('"🚀 é \u2028"')).toBe('🚀 é \u2028');
    expect(read1('""')).toBe('');
  });

  it('reads collections, comments and whitespace', () => {
    const text = `;; header comment
(intent-graph ; trailing comment
  [1 2.5 "x"]
  {:a 1 "b" nil 3 [true]}
  ()
)`;
    expect(read1(text)).toEqual({
      list: [{ sym: 'intent-graph' }, [{ int: 1 }, { float: 2.5 }, 'x'], { map: [[':a', { int: 1 }], ['b', null], [{ int: 3 }, [true]]] }, { list: [] }],
    });
    expect(readRtfs('  ; only a comment\n\t\r\n')).toEqual([]);
    expect(readRtfs('1 2').map(strip)).toEqual([{ int: 1 }, { int: 2 }]);
  });

  it('keeps positions (line, column in characters)', () => {
    const [form] = readRtfs('\n  (a\n   "🚀" :k)');
    expect(form).toMatchObject({ kind: 'list', line: 2, column: 3 });
    const items = (form as { items: RtfsNode[] }).items;
    expect(items[1]).toMatchObject({ kind: 'string', line: 3, column: 4 });
    expect(items[2]).toMatchObject({ kind: 'keyword', line: 3, column: 8 }); // the astral character counts once
  });
});

describe('readRtfs: typed errors with line:column', () => {
  const cases: [string, string, number, number][] = [
    ['unterminated string', '(a\n  "abc', 2, 3],
    ['unknown escape', '"a\\qb"', 1, 3],
    ['unclosed list', '(a (b)', 1, 1],
    ['stray closer', 'a )', 1, 3],
    ['odd map', '{:a 1 :b}', 1, 9],
    ['duplicate map key', '{:a 1 :a 2}', 1, 7],
    ['bad map key', '{[1] 2}', 1, 2],
    ['float without digits after the point', '1.', 1, 1],
    ['exponent without a point', '1e5', 1, 1],
    ['integer beyond 2^53', '9007199254740993', 1, 1],
    ['float overflow', '1.0e400', 1, 1],
    ['keyword without a name', ': a', 1, 2],
    ['outside the subset: deref', '@x', 1, 1],
    ['outside the subset: comma', '[1, 2]', 1, 3],
    ['outside the subset: hash', '#{1}', 1, 1],
    ['unexpected end', '', 0, 0],
  ];
  for (const [label, text, line, column] of cases) {
    it(label, () => {
      if (text === '') {
        expect(readRtfs(text)).toEqual([]);
        return;
      }
      const e = syntaxError(text);
      expect([e.line, e.column], e.message).toEqual([line, column]);
      expect(e.message).toMatch(/^line \d+ column \d+: /);
    });
  }

  it('refuses hostile nesting without exhausting the stack', () => {
    const e = syntaxError('('.repeat(100_000));
    expect(e.message).toContain('nesting deeper than 256');
  });

  it('stays linear on a long single line', () => {
    const text = `[${'1 '.repeat(200_000)}]`;
    const [v] = readRtfs(text);
    expect((v as { items: unknown[] }).items).toHaveLength(200_000);
  });
});

describe('RTFS literal printers', () => {
  it('prints floats with a decimal point, exactly', () => {
    expect(printRtfsFloat(1)).toBe('1.0');
    expect(printRtfsFloat(0.1)).toBe('0.1');
    expect(printRtfsFloat(1e21)).toBe('1.0e21');
    expect(printRtfsFloat(1.5e-7)).toBe('1.5e-7');
    expect(printRtfsFloat(-0)).toBe('-0.0');
    expect(printRtfsFloat(5e-324)).toBe('5.0e-324');
    expect(() => printRtfsFloat(NaN)).toThrow(RangeError);
  });

  it('float round trip is exact for every double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const [node] = readRtfs(printRtfsFloat(x));
        expect(node!.kind).toBe('float');
        expect(Object.is((node as { value: number }).value, x)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('string round trip is exact for every string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const [node] = readRtfs(printRtfsString(s));
        expect(node).toMatchObject({ kind: 'string', value: s });
      }),
      { numRuns: 2000 },
    );
  });
});
