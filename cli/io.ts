/**
 * Reading command input (a file or stdin) and writing output files, with CLI
 * errors a person can act on.
 *
 * @module
 */
import { open, readFile, stat } from 'node:fs/promises';
import { getHeapStatistics } from 'node:v8';
import { CliError, EXIT } from './errors.js';

/**
 * What `put` holds at its peak, measured with `/usr/bin/time -v` on inputs of
 * every shape (records, numbers, strings, empty objects, deep nesting): the
 * text, the parsed value and its canonical form are in memory at once, which
 * costs at most {@link PUT_BYTES_PER_BYTE} bytes per byte of text plus
 * {@link PUT_BYTES_PER_VALUE} per `{`, `[` or `,` in it (one per value or
 * container, so never fewer than there are values) plus {@link PUT_FIXED_BYTES}.
 * For typical records (one such character per 9 bytes) that is about 21x the
 * input; for a text of only tiny values (`[{},{},...]`) about 90x.
 */
export const PUT_BYTES_PER_BYTE = 8;
/** See {@link PUT_BYTES_PER_BYTE}. */
export const PUT_BYTES_PER_VALUE = 120;
/** See {@link PUT_BYTES_PER_BYTE}: the young generation and the rest of a working process. */
export const PUT_FIXED_BYTES = 64 * 2 ** 20;

/** The longest string V8 holds (2^29 - 24 characters): no larger input can be parsed at all. */
const MAX_STRING = 2 ** 29 - 24;

const heapLimit = () => getHeapStatistics().heap_size_limit;

/**
 * The largest input `put` reads: what fits in this process's heap at
 * {@link PUT_BYTES_PER_BYTE} (about 500 MiB with a 4 GiB heap), and never
 * more than V8's longest string (512 MiB). Larger inputs are refused before
 * they are read.
 */
export function maxPutInputBytes(): number {
  return Math.min(MAX_STRING, Math.max(0, Math.floor((heapLimit() - PUT_FIXED_BYTES) / PUT_BYTES_PER_BYTE)));
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const RAISE = 'run with a larger heap (NODE_OPTIONS=--max-old-space-size=<MiB>) or split the input into lines for put --ndjson';

function tooLarge(what: string, size: number | undefined, max: number): CliError {
  return new CliError(
    'INPUT_TOO_LARGE',
    `${what} is ${size === undefined ? 'larger than' : `${mib(size)}, over`} the limit of ${mib(max)}: ${RAISE}`,
    EXIT.badInput,
  );
}

/** The peak memory `put` may take for a text of `length` characters with `values` of `{`, `[` and `,`. */
export function putMemoryBound(length: number, values: number): number {
  return PUT_BYTES_PER_BYTE * length + PUT_BYTES_PER_VALUE * values + PUT_FIXED_BYTES;
}

/**
 * Refuses (`INPUT_TOO_LARGE`, exit 3) a `put` input whose peak memory, as
 * {@link PUT_BYTES_PER_BYTE} states it, would not fit in the heap: a clear
 * error instead of running out of memory halfway. The `{`, `[` and `,` are
 * counted inside strings too, so the estimate errs on the safe side.
 */
export function checkPutMemory(text: string, what: string): void {
  let values = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 44 || c === 91 || c === 123) values++;
  }
  const need = putMemoryBound(text.length, values);
  if (need > heapLimit()) {
    throw new CliError(
      'INPUT_TOO_LARGE',
      `${what} (${mib(text.length)}, up to ${values} JSON values) needs about ${mib(need)} to store, ` +
        `more than this process's heap limit of ${mib(heapLimit())}: ${RAISE}`,
      EXIT.badInput,
    );
  }
}

/** Options of {@link readInput}. */
export interface ReadInputOptions {
  /** Refuse (`INPUT_TOO_LARGE`, exit 3) more than this many bytes, before reading a file and while reading stdin. */
  maxBytes?: number;
}

/** The bytes of FILE, or of stdin when FILE is `-` or absent. */
export async function readInput(file: string | undefined, stdin: NodeJS.ReadableStream = process.stdin, options: ReadInputOptions = {}): Promise<Uint8Array> {
  const max = options.maxBytes ?? Infinity;
  if (file === undefined || file === '-') {
    if ((stdin as { isTTY?: boolean }).isTTY) {
      throw new CliError('INPUT_UNREADABLE', 'no input: give a FILE or pipe JSON into stdin', EXIT.usage);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of stdin) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      total += b.byteLength;
      if (total > max) {
        (stdin as { destroy?: () => void }).destroy?.();
        throw tooLarge('stdin', undefined, max);
      }
      chunks.push(b);
    }
    return new Uint8Array(Buffer.concat(chunks));
  }
  try {
    if (max !== Infinity) {
      const { size } = await stat(file);
      if (size > max) throw tooLarge(file, size, max);
    }
    return new Uint8Array(await readFile(file));
  } catch (e) {
    throw unreadable(file, e);
  }
}

function unreadable(file: string, e: unknown): CliError {
  if (e instanceof CliError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String(code ?? e);
  return new CliError('INPUT_UNREADABLE', `cannot read ${file}: ${why}`, EXIT.badInput, { cause: e });
}

/** Throws INPUT_UNREADABLE (exit 3) unless `file` is a file this process can open for reading. */
export async function checkReadableFile(file: string): Promise<void> {
  try {
    const handle = await open(file, 'r');
    try {
      if ((await handle.stat()).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    } finally {
      await handle.close();
    }
  } catch (e) {
    throw unreadable(file, e);
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8 strictly (a BOM-less, valid UTF-8 text), else a bad-input error. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return decoder.decode(bytes);
  } catch (e) {
    throw new CliError('INPUT_UNREADABLE', `${what} is not valid UTF-8 text`, EXIT.badInput, { cause: e });
  }
}

