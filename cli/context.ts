/**
 * What every command gets: parsed args, output streams, flags and lazily
 * opened stores.
 *
 * @module
 */
import type { ContentArchive } from '../src/archive/types.js';
import type { StorageAdapter } from '../src/adapter/contract.js';
import type { ParsedArgs } from './args.js';
import type { ProgressBar } from './progress.js';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadableStream;
  env: Record<string, string | undefined>;
}

export interface CliContext extends CliIo {
  args: ParsedArgs;
  json: boolean;
  quiet: boolean;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** The archive named by --store (opened on first call, closed at exit). */
  archive(): Promise<ContentArchive>;
  /** Opens another store spec (e.g. `sync --to`), closed at exit. */
  openSpec(spec: string): Promise<{ adapter: StorageAdapter; archive: ContentArchive }>;
  /** Whether the --store store exists already (decides whether a command that may create it must check its input first). */
  storeExists(): Promise<boolean>;
  /** The adapter under --store. */
  adapter(): Promise<StorageAdapter>;
  progress(label: string): ProgressBar;
  /** Registers cleanup run when the command ends (before the stores close). */
  onClose(fn: () => Promise<void>): void;
  /** Writes one line of data to stdout. */
  out(line: string): void;
  /** Writes an informational line to stderr (suppressed by --quiet). */
  info(line: string): void;
}

export type Command = (ctx: CliContext) => Promise<number>;
