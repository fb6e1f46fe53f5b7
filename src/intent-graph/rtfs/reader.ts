/**
 * A reader for the RTFS data subset: `nil`, `true`/`false`, integers, floats,
 * strings with backslash escapes, keywords (`:name`, `:ns/name`), symbols,
 * vectors `[...]`, lists `(...)`, maps `{key value ...}` with keyword, string
 * or integer keys, and `;` line comments. Code forms (`fn`, `let`, `@x`, ...)
 * are outside the subset and refused.
 *
 * The lexical rules follow the RTFS grammar (rtfs.pest): integers
 * `[+-]?digits`, floats `[+-]?digits.digits([eE][+-]?digits)?`, string escapes
 * `\" \\ \n \t \r` (any other character, newlines included, stands for itself),
 * whitespace is space, tab, CR and LF.
 *
 * Every node keeps its line and column, and every error is an
 * {@link RtfsSyntaxError} with the line:column of the problem.
 *
 * @module
 */
import { RtfsSyntaxError } from '../../errors.js';

/** Where a node starts: 1-based line and column (column counted in characters). */
export interface RtfsPosition {
  line: number;
  column: number;
}

/** A node of RTFS data, with its position in the text. */
export type RtfsNode =
  | ({ kind: 'nil' } & RtfsPosition)
  | ({ kind: 'boolean'; value: boolean } & RtfsPosition)
  | ({ kind: 'integer'; value: number } & RtfsPosition)
  | ({ kind: 'float'; value: number } & RtfsPosition)
  | ({ kind: 'string'; value: string } & RtfsPosition)
  | ({ kind: 'keyword'; name: string } & RtfsPosition)
  | ({ kind: 'symbol'; name: string } & RtfsPosition)
  | ({ kind: 'list'; items: RtfsNode[] } & RtfsPosition)
  | ({ kind: 'vector'; items: RtfsNode[] } & RtfsPosition)
  | ({ kind: 'map'; entries: [RtfsNode, RtfsNode][] } & RtfsPosition);

/** Options of {@link readRtfs}. */
export interface ReadRtfsOptions {
  /** Nesting deeper than this is refused (default 256): keeps hostile input from exhausting the stack. */
  maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 256;

/** Characters that may start an identifier (symbol or keyword name). */
const IDENT_START = /[A-Za-z_$+\-*/=<>!?]/;
/** Characters that may continue an identifier. */
const IDENT_CHAR = /[A-Za-z0-9_$+\-*/=<>!?.:]/;
const DIGIT = /[0-9]/;

function isDelimiter(c: string | undefined): boolean {
  return c === undefined || c === ' ' || c === '\t' || c === '\r' || c === '\n' || '()[]{}";'.includes(c);
}

/** 1-based line and column (column in characters, i.e. code points) of offset `at` in `text`. */
export function positionAt(text: string, at: number): RtfsPosition {
  let line = 1;
  let column = 1;
  for (let i = 0; i < at && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      column = 1;
    } else if (c < 0xdc00 || c > 0xdfff) column++;
  }
  return { line, column };
}

/** A short, printable description of the character at `at`. */
function describeChar(text: string, at: number): string {
  const cp = text.codePointAt(at);
  if (cp === undefined) return 'end of text';
  const ch = String.fromCodePoint(cp);
  return cp < 0x20 || cp === 0x7f ? `character U+${cp.toString(16).toUpperCase().padStart(4, '0')}` : `character ${JSON.stringify(ch)}`;
}

/**
 * Reads every top-level form of `text`. Throws {@link RtfsSyntaxError} with
 * line:column on anything outside the data subset.
 */
export function readRtfs(text: string, options?: ReadRtfsOptions): RtfsNode[] {
  if (typeof text !== 'string') throw new RtfsSyntaxError(1, 1, 'readRtfs expects a string');
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  let pos = 0;
  let depth = 0;

  // Positions are computed incrementally (nodes are created in text order), so
  // that a long single-line input stays linear.
  let line = 1;
  let column = 1;
  let scanned = 0;
  const at = (offset: number): RtfsPosition => {
    for (; scanned < offset; scanned++) {
      const c = text.charCodeAt(scanned);
      if (c === 10) {
        line++;
        column = 1;
      } else if (c < 0xdc00 || c > 0xdfff) column++; // a low surrogate continues the previous character
    }
    return { line, column };
  };
  const fail = (message: string, offset = pos): never => {
    const p = positionAt(text, offset);
    throw new RtfsSyntaxError(p.line, p.column, message);
  };

  const skipSpace = (): void => {
    for (;;) {
      const c = text[pos];
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') pos++;
      else if (c === ';') {
        while (pos < text.length && text[pos] !== '\n') pos++;
      } else return;
    }
  };

  const readString = (): RtfsNode => {
    const start = pos;
    pos++; // opening quote
    let out = '';
    let chunk = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated string', start);
      const c = text[pos];
      if (c === '"') break;
      if (c === '\\') {
        out += text.slice(chunk, pos);
        const e = text[pos + 1];
        if (e === '"' || e === '\\') out += e;
        else if (e === 'n') out += '\n';
        else if (e === 't') out += '\t';
        else if (e === 'r') out += '\r';
        else fail(e === undefined ? 'unterminated string' : `unknown escape \\${e} (RTFS strings know \\" \\\\ \\n \\t \\r)`);
        pos += 2;
        chunk = pos;
        continue;
      }
      pos++;
    }
    out += text.slice(chunk, pos);
    pos++; // closing quote
    return { kind: 'string', value: out, ...at(start) };
  };

  const readIdentifier = (): string => {
    const start = pos;
    if (!IDENT_START.test(text[pos] ?? '')) fail(`expected a name, found ${describeChar(text, pos)}`);
    pos++;
    while (pos < text.length && IDENT_CHAR.test(text[pos]!)) pos++;
    return text.slice(start, pos);
  };

  const readNumber = (): RtfsNode => {
    const start = pos;
    const m = /[+-]?[0-9]+(\.[0-9]+([eE][+-]?[0-9]+)?)?/y;
    m.lastIndex = pos;
    const hit = m.exec(text)!;
    pos += hit[0].length;
    if (!isDelimiter(text[pos])) {
      if (!IDENT_CHAR.test(text[pos]!)) fail(`unexpected ${describeChar(text, pos)} after a number (not part of the RTFS data syntax)`);
      fail(`invalid number: ${JSON.stringify(text.slice(start, pos + 1))} (floats are written like 1.5 or 1.0e21)`, start);
    }
    const literal = hit[0];
    const value = Number(literal);
    if (hit[1] === undefined) {
      if (!Number.isSafeInteger(value)) fail(`integer ${literal} is outside the exactly representable range ±(2^53-1)`, start);
      return { kind: 'integer', value: Object.is(value, -0) ? 0 : value, ...at(start) };
    }
    if (!Number.isFinite(value)) fail(`float ${literal} overflows a double`, start);
    return { kind: 'float', value, ...at(start) };
  };

  const readSeq = (close: string, what: string): RtfsNode[] => {
    const start = pos;
    if (++depth > maxDepth) fail(`nesting deeper than ${maxDepth} levels`);
    pos++;
    const items: RtfsNode[] = [];
    for (;;) {
      skipSpace();
      if (pos >= text.length) fail(`unclosed ${what}: expected ${close}`, start);
      if (text[pos] === close) {
        pos++;
        depth--;
        return items;
      }
      items.push(readForm());
    }
  };

  const readForm = (): RtfsNode => {
    skipSpace();
    const start = pos;
    const c = text[pos];
    if (c === undefined) return fail('unexpected end of text');
    if (c === '(') {
      const p = at(start);
      return { kind: 'list', items: readSeq(')', 'list'), ...p };
    }
    if (c === '[') {
      const p = at(start);
      return { kind: 'vector', items: readSeq(']', 'vector'), ...p };
    }
    if (c === '{') {
      const p = at(start);
      const items = readSeq('}', 'map');
      if (items.length % 2 !== 0) fail('map has a key without a value', pos - 1);
      const entries: [RtfsNode, RtfsNode][] = [];
      const seen = new Set<string>();
      for (let i = 0; i < items.length; i += 2) {
        const key = items[i]!;
        let id: string;
        if (key.kind === 'keyword') id = `:${key.name}`;
        else if (key.kind === 'string') id = JSON.stringify(key.value);
        else if (key.kind === 'integer') id = String(key.value);
        else throw new RtfsSyntaxError(key.line, key.column, `a map key must be a keyword, string or integer, not a ${key.kind}`);
        if (seen.has(id)) throw new RtfsSyntaxError(key.line, key.column, `duplicate map key ${id}`);
        seen.add(id);
        entries.push([key, items[i + 1]!]);
      }
      return { kind: 'map', entries, ...p };
    }
    if (c === ')' || c === ']' || c === '}') return fail(`unexpected ${JSON.stringify(c)} with nothing open to close`);
    if (c === '"') return readString();
    if (c === ':') {
      pos++;
      if (!IDENT_START.test(text[pos] ?? '')) fail(`a keyword needs a name after ':', found ${describeChar(text, pos)}`);
      const name = readIdentifier();
      if (name.endsWith('/')) fail(`keyword :${name} has an empty name after '/'`, start);
      return { kind: 'keyword', name, ...at(start) };
    }
    if (DIGIT.test(c) || ((c === '-' || c === '+') && DIGIT.test(text[pos + 1] ?? ''))) return readNumber();
    if (IDENT_START.test(c)) {
      const name = readIdentifier();
      if (!isDelimiter(text[pos])) fail(`unexpected ${describeChar(text, pos)} in symbol ${JSON.stringify(name)}`);
      const p = at(start);
      if (name === 'nil') return { kind: 'nil', ...p };
      if (name === 'true' || name === 'false') return { kind: 'boolean', value: name === 'true', ...p };
      return { kind: 'symbol', name, ...p };
    }
    return fail(`unexpected ${describeChar(text, pos)} (not part of the RTFS data syntax)`);
  };

  const forms: RtfsNode[] = [];
  for (;;) {
    skipSpace();
    if (pos >= text.length) return forms;
    forms.push(readForm());
  }
}
