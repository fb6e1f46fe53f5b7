/** Reading command input (a file or stdin) and writing output files, with CLI errors a person can act on. */
import { readFile } from 'node:fs/promises';
import { CliError, EXIT } from './errors.js';

/** The bytes of FILE, or of stdin when FILE is `-` or absent. */
export async function readInput(file: string | undefined, stdin: NodeJS.ReadableStream = process.stdin): Promise<Uint8Array> {
  if (file === undefined || file === '-') {
    if ((stdin as { isTTY?: boolean }).isTTY) {
      throw new CliError('INPUT_UNREADABLE', 'no input: give a FILE or pipe JSON into stdin', EXIT.usage);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return new Uint8Array(Buffer.concat(chunks));
  }
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String(code ?? e);
    throw new CliError('INPUT_UNREADABLE', `cannot read ${file}: ${why}`, EXIT.badInput, { cause: e });
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
