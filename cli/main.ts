/**
 * `archive-storage [global options] <command> [args]` — the Node command line.
 * The only entry that may import `node:*` besides Node adapters.
 */
import { version } from '../package.json';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { openArchive } from '../src/archive/index.js';
import type { ContentArchive } from '../src/archive/types.js';
import { parseCliArgs, type ParsedArgs } from './args.js';
import * as archiveCommands from './commands/archive.js';
import * as graphCommands from './commands/graph.js';
import * as transferCommands from './commands/transfer.js';
import type { CliContext, CliIo, Command } from './context.js';
import { describeError, EXIT, exitCodeOf, usageError } from './errors.js';
import { HELP } from './help.js';
import { openStoreAdapter } from './open-store.js';
import { progressBar } from './progress.js';
import { parseStoreSpec } from './store-spec.js';

/** Commands, and whether they write to the store (a store that does not exist yet is created only for those). */
const COMMANDS: Record<string, { run: Command; writes: boolean | ((a: ParsedArgs) => boolean) }> = {
  put: { run: archiveCommands.put, writes: true },
  get: { run: archiveCommands.get, writes: false },
  has: { run: archiveCommands.has, writes: false },
  rm: { run: archiveCommands.rm, writes: false },
  ls: { run: archiveCommands.ls, writes: false },
  stats: { run: archiveCommands.stats, writes: false },
  verify: { run: archiveCommands.verify, writes: false },
  gc: { run: archiveCommands.gc, writes: false },
  export: { run: transferCommands.exportCommand, writes: false },
  import: { run: transferCommands.importCommand, writes: true },
  sync: { run: transferCommands.sync, writes: false },
  backup: { run: graphCommands.backup, writes: false },
  restore: { run: graphCommands.restore, writes: true },
  intents: { run: graphCommands.intents, writes: (a) => a.positionals[0] === 'add' },
  edges: { run: graphCommands.edges, writes: (a) => a.positionals[0] === 'add' },
};

/** Runs the CLI; resolves the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo, signal: AbortSignal): Promise<number> {
  let json = argv.includes('--json');
  const closers: (() => Promise<void>)[] = [];
  const fail = (error: unknown): number => {
    const { code, message } = describeError(error);
    io.stderr.write(json ? `${JSON.stringify({ code, message })}\n` : `archive-storage: ${code}: ${message}\n`);
    return exitCodeOf(error);
  };
  try {
    const args = parseCliArgs(argv);
    json = Boolean(args.values.json);
    if (args.values.version) {
      io.stdout.write(`${version}\n`);
      return EXIT.ok;
    }
    if (args.values.help || args.command === 'help' || args.command === undefined) {
      if (args.command === undefined && !args.values.help) {
        io.stderr.write(HELP);
        return EXIT.usage;
      }
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    const entry = COMMANDS[args.command];
    if (!entry) throw usageError(`unknown command ${JSON.stringify(args.command)}`);
    const writes = typeof entry.writes === 'function' ? entry.writes(args) : entry.writes;
    const quiet = Boolean(args.values.quiet);
    const showProgress = !quiet && !args.values['no-progress'];
    const storeSpec = (args.values.store as string | undefined) ?? io.env.ARCHIVE_STORE ?? './.archive';

    const open = async (spec: string, create: boolean) => {
      const adapter = await openStoreAdapter(parseStoreSpec(spec), {
        create,
        env: io.env,
        endpoint: args.values.endpoint as string | undefined,
        region: args.values.region as string | undefined,
      });
      closers.push(async () => adapter.close?.());
      const archive = await openArchive(adapter, { signal });
      closers.unshift(() => archive.close());
      return { adapter, archive };
    };
    let main: Promise<{ adapter: StorageAdapter; archive: ContentArchive }> | undefined;
    const store = () => (main ??= open(storeSpec, writes));

    const ctx: CliContext = {
      ...io,
      args,
      json,
      quiet,
      signal,
      archive: async () => (await store()).archive,
      adapter: async () => (await store()).adapter,
      openSpec: (spec) => open(spec, true),
      onClose: (fn) => void closers.unshift(fn),
      progress: (label) => progressBar(label, showProgress, io.stderr),
      out: (line) => void io.stdout.write(`${line}\n`),
      info: (line) => void (quiet ? undefined : io.stderr.write(`${line}\n`)),
    };
    return await entry.run(ctx);
  } catch (error) {
    return fail(error);
  } finally {
    for (const close of closers) {
      try {
        await close();
      } catch (error) {
        fail(error);
      }
    }
  }
}

/** Process entry: wires stdio, signals and the exit code. */
async function main(): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts > 1) process.exit(EXIT.interrupted);
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Writing into a closed pipe (`archive-storage ls | head`) is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.ok);
  });
  const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }, controller.signal);
  process.exitCode = code;
}

await main();
