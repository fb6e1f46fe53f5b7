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
import * as ccosCommands from './commands/ccos.js';
import { refuseForeignStore } from './commands/ccos.js';
import * as edgeCommands from './commands/edges.js';
import { gc } from './commands/gc.js';
import * as graphCommands from './commands/graph.js';
import * as intentCommands from './commands/intents.js';
import { CHANGING_SUBCOMMANDS, ref } from './commands/ref.js';
import * as transferCommands from './commands/transfer.js';
import { watch } from './commands/watch.js';
import type { CliContext, CliIo, Command } from './context.js';
import { describeError, EXIT, exitCodeOf, usageError } from './errors.js';
import { didYouMean } from './text.js';
import { commandHelp, globalHelp } from './help.js';
import { openStoreAdapter, storeExists, type StoreAccess } from './open-store.js';
import { progressBar } from './progress.js';
import { parseStoreSpec } from './store-spec.js';

/** Commands, and what each does to its store: only `create` ones make a store that does not exist yet; `read` ones change nothing. */
const COMMANDS: Record<string, { run: Command; access: StoreAccess | ((a: ParsedArgs) => StoreAccess) }> = {
  put: { run: archiveCommands.put, access: 'create' },
  get: { run: archiveCommands.get, access: 'read' },
  has: { run: archiveCommands.has, access: 'read' },
  rm: { run: archiveCommands.rm, access: 'modify' },
  ls: { run: archiveCommands.ls, access: 'read' },
  stats: { run: archiveCommands.stats, access: 'read' },
  verify: { run: archiveCommands.verify, access: (a) => (a.values.repair ? 'modify' : 'read') },
  gc: { run: gc, access: (a) => (a.values['dry-run'] ? 'read' : 'modify') },
  ref: { run: ref, access: (a) => (CHANGING_SUBCOMMANDS.includes(a.positionals[0]!) ? 'modify' : 'read') },
  watch: { run: watch, access: 'read' },
  export: { run: transferCommands.exportCommand, access: 'read' },
  import: { run: transferCommands.importCommand, access: 'create' },
  sync: { run: transferCommands.sync, access: 'read' },
  backup: { run: graphCommands.backup, access: 'read' },
  restore: { run: graphCommands.restore, access: 'create' },
  intents: { run: intentCommands.intents, access: (a) => ({ add: 'create', set: 'modify', rm: 'modify' } as const)[a.positionals[0] as 'add'] ?? 'read' },
  edges: { run: edgeCommands.edges, access: (a) => (a.positionals[0] === 'ls' ? 'read' : 'modify') },
  'import-ccos': { run: ccosCommands.importCcos, access: 'create' },
  'export-ccos': { run: ccosCommands.exportCcos, access: 'read' },
};

const unknownCommand = (name: string) => usageError(`unknown command ${JSON.stringify(name)}${didYouMean(name, Object.keys(COMMANDS))}`);

/** Answers --help, help [COMMAND] and a bare invocation; undefined when the line asks for something else. */
function help(args: ParsedArgs, io: CliIo): number | undefined {
  if (args.command === undefined) {
    if (args.values.help) io.stdout.write(globalHelp());
    else io.stderr.write(globalHelp());
    return args.values.help ? EXIT.ok : EXIT.usage;
  }
  const topic = args.command === 'help' ? args.positionals[0] : args.values.help ? args.command : undefined;
  if (args.command !== 'help' && topic === undefined) return undefined;
  if (topic === undefined) {
    io.stdout.write(globalHelp());
    return EXIT.ok;
  }
  const page = commandHelp(topic);
  if (page === undefined) throw unknownCommand(topic);
  io.stdout.write(page);
  return EXIT.ok;
}

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
    const answered = help(args, io);
    if (answered !== undefined) return answered;
    const entry = Object.hasOwn(COMMANDS, args.command!) ? COMMANDS[args.command!] : undefined;
    if (!entry) throw unknownCommand(args.command!);
    const access = typeof entry.access === 'function' ? entry.access(args) : entry.access;
    const quiet = Boolean(args.values.quiet);
    const showProgress = !quiet && !args.values['no-progress'];
    const storeSpec = (args.values.store as string | undefined) ?? io.env.ARCHIVE_STORE ?? './.archive';

    const open = async (spec: string, mode: StoreAccess) => {
      const adapter = await openStoreAdapter(parseStoreSpec(spec), {
        access: mode,
        env: io.env,
        endpoint: args.values.endpoint as string | undefined,
        region: args.values.region as string | undefined,
      });
      closers.push(async () => adapter.close?.());
      // Someone else's data (a CCOS directory, an index.json of another format) is refused before opening writes anything.
      await refuseForeignStore(adapter, spec, signal);
      const archive = await openArchive(adapter, { signal });
      closers.unshift(() => archive.close());
      return { adapter, archive };
    };
    let main: Promise<{ adapter: StorageAdapter; archive: ContentArchive }> | undefined;
    const store = () => (main ??= open(storeSpec, access));

    const ctx: CliContext = {
      ...io,
      args,
      json,
      quiet,
      signal,
      archive: async () => (await store()).archive,
      adapter: async () => (await store()).adapter,
      openSpec: (spec) => open(spec, 'create'),
      storeExists: () => storeExists(parseStoreSpec(storeSpec)),
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
