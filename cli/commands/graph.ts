/** The intent graph kept in the store: backup/restore and the intents/edges commands. */
import { writeFileAtomic } from '../../adapters/node-fs/index.js';
import { backupToBytes, createBackup } from '../../src/intent-graph/document.js';
import { parseJson } from '../../src/json/canonical.js';
import { NotFoundError } from '../../src/errors.js';
import { openArchiveIntentStore, type ArchiveIntentStore } from '../../src/intent-graph/archive-store.js';
import { EDGE_TYPES, INTENT_STATUSES, type Edge, type EdgeType, type IntentStatus, type StorableIntent } from '../../src/intent-graph/types.js';
import { validateIntent } from '../../src/intent-graph/validate.js';
import { newIntent } from '../../src/intent-graph/new-intent.js';
import { printRtfsSnapshot } from '../../src/intent-graph/rtfs/index.js';
import { allowOnly, expectPositionals } from '../args.js';
import type { CliContext, Command } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { decodeUtf8, readInput } from '../io.js';
import { version } from '../../package.json';

/** The store's intent graph (archive-backed, under the archive's default index key). */
export async function intentStore(ctx: CliContext): Promise<ArchiveIntentStore> {
  const store = await openArchiveIntentStore({ archive: await ctx.archive(), signal: ctx.signal });
  ctx.onClose(() => store.close());
  return store;
}

async function writeOutput(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, bytes);
  } catch (e) {
    throw new CliError('OUTPUT_UNWRITABLE', `cannot write ${path}: ${(e as Error).message}`, EXIT.backend, { cause: e });
  }
}

export const backup: Command = async (ctx) => {
  allowOnly(ctx.args, 'backup', ['note']);
  const [out] = expectPositionals(ctx.args, 'backup', 1, 1, 'OUT.json');
  const store = await intentStore(ctx);
  const note = ctx.args.values.note as string | undefined;
  const data = await createBackup(store, {
    signal: ctx.signal,
    manifest: { created_by: 'archive-storage', source: 'archive-storage cli', note: note ?? null },
  });
  await writeOutput(out!, backupToBytes(data));
  const summary = { file: out, intents: Object.keys(data.intents).length, edges: data.edges.length, timestamp: data.timestamp };
  if (ctx.json) ctx.out(JSON.stringify(summary));
  else ctx.info(`backed up ${plural(summary.intents, 'intent')} and ${plural(summary.edges, 'edge')} to ${out}`);
  return EXIT.ok;
};

export const restore: Command = async (ctx) => {
  allowOnly(ctx.args, 'restore', []);
  const [file] = expectPositionals(ctx.args, 'restore', 1, 1, 'IN.json');
  const bytes = await readInput(file, ctx.stdin);
  const store = await intentStore(ctx);
  const report = await store.restore(bytes, { signal: ctx.signal });
  for (const w of report.warnings) ctx.info(`archive-storage: warning: ${w.code}: ${w.message}`);
  if (ctx.json) ctx.out(JSON.stringify(report));
  else ctx.info(`restored ${plural(report.intents, 'intent')} and ${plural(report.edges, 'edge')} (backup version ${report.version})`);
  return EXIT.ok;
};


async function intentsAdd(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'intents add', ['goal']);
  const goal = ctx.args.values.goal as string | undefined;
  if (goal !== undefined && rest.length > 0) throw usageError('intents add takes either FILE|- or --goal TEXT, not both');
  let intent: StorableIntent;
  if (goal !== undefined) intent = newIntent(goal, { arbiterVersion: `archive-storage-cli/${version}` });
  else {
    if (rest.length > 1) throw usageError('usage: archive-storage intents add FILE|- | --goal TEXT');
    const source = rest[0] ?? '-';
    intent = validateIntent(parseJson(decodeUtf8(await readInput(source, ctx.stdin), source === '-' ? 'stdin' : source)));
  }
  const store = await intentStore(ctx);
  const id = await store.store(intent, { signal: ctx.signal });
  ctx.out(ctx.json ? JSON.stringify({ intent_id: id }) : id);
  return EXIT.ok;
}

async function intentsLs(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'intents ls', ['status', 'goal-contains']);
  if (rest.length) throw usageError('usage: archive-storage intents ls [--status S] [--goal-contains T]');
  const status = ctx.args.values.status as string | undefined;
  if (status !== undefined && !INTENT_STATUSES.includes(status as IntentStatus)) {
    throw usageError(`--status must be one of ${INTENT_STATUSES.join(', ')}`);
  }
  const store = await intentStore(ctx);
  const intents = await store.list(
    { ...(status ? { status: status as IntentStatus } : {}), ...(ctx.args.values['goal-contains'] !== undefined ? { goalContains: ctx.args.values['goal-contains'] as string } : {}) },
    { signal: ctx.signal },
  );
  if (ctx.json) ctx.out(JSON.stringify(intents));
  else for (const i of intents) ctx.out(`${i.intent_id}\t${i.status}\t${i.priority}\t${oneLine(i.goal)}`);
  return EXIT.ok;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const oneLine = (s: string) => s.replace(/[\r\n\t]+/g, ' ');

async function intentsShow(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'intents show', []);
  if (rest.length !== 1) throw usageError('usage: archive-storage intents show ID');
  const store = await intentStore(ctx);
  const intent = await store.get(rest[0]!, { signal: ctx.signal });
  if (!intent) throw new NotFoundError(`no intent ${JSON.stringify(rest[0])} in the store`);
  ctx.out(JSON.stringify(intent, null, ctx.json ? undefined : 2));
  return EXIT.ok;
}

async function intentsRm(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'intents rm', []);
  if (rest.length !== 1) throw usageError('usage: archive-storage intents rm ID');
  const store = await intentStore(ctx);
  await store.delete(rest[0]!, { signal: ctx.signal });
  return EXIT.ok;
}

async function intentsSnapshot(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'intents snapshot', []);
  if (rest.length) throw usageError('usage: archive-storage intents snapshot');
  const store = await intentStore(ctx);
  ctx.out(printRtfsSnapshot(await store.snapshot({ signal: ctx.signal })).replace(/\n$/, ''));
  return EXIT.ok;
}

export const intents: Command = async (ctx) => {
  const [sub, ...rest] = ctx.args.positionals;
  switch (sub) {
    case 'add':
      return intentsAdd(ctx, rest);
    case 'ls':
      return intentsLs(ctx, rest);
    case 'show':
      return intentsShow(ctx, rest);
    case 'rm':
      return intentsRm(ctx, rest);
    case 'snapshot':
      return intentsSnapshot(ctx, rest);
    default:
      throw usageError(`intents needs a subcommand: add, ls, show, rm, snapshot${sub ? ` (not ${JSON.stringify(sub)})` : ''}`);
  }
};

export const edges: Command = async (ctx) => {
  const [sub, ...rest] = ctx.args.positionals;
  if (sub === 'add') {
    allowOnly(ctx.args, 'edges add', ['weight']);
    if (rest.length !== 3) throw usageError('usage: archive-storage edges add FROM TO TYPE [--weight W]');
    const [from, to, type] = rest as [string, string, string];
    if (!EDGE_TYPES.includes(type as EdgeType)) throw usageError(`TYPE must be one of ${EDGE_TYPES.join(', ')}`);
    let weight: number | null = null;
    if (ctx.args.values.weight !== undefined) {
      weight = Number(ctx.args.values.weight);
      if (!Number.isFinite(weight) || String(ctx.args.values.weight).trim() === '') throw usageError('--weight must be a finite number');
    }
    const store = await intentStore(ctx);
    for (const id of [from, to]) {
      if (!(await store.get(id, { signal: ctx.signal }))) throw new NotFoundError(`no intent ${JSON.stringify(id)} in the store: add it first`);
    }
    const edge: Edge = { from, to, edge_type: type as EdgeType, metadata: null, weight };
    await store.storeEdge(edge, { signal: ctx.signal });
    if (ctx.json) ctx.out(JSON.stringify(edge));
    return EXIT.ok;
  }
  if (sub === 'ls') {
    allowOnly(ctx.args, 'edges ls', []);
    if (rest.length > 1) throw usageError('usage: archive-storage edges ls [ID]');
    const store = await intentStore(ctx);
    const list = rest.length ? await store.edgesOf(rest[0]!, { signal: ctx.signal }) : await store.edges({ signal: ctx.signal });
    if (ctx.json) ctx.out(JSON.stringify(list));
    else for (const e of list) ctx.out(`${e.from}\t${e.to}\t${e.edge_type}\t${e.weight ?? '-'}`);
    return EXIT.ok;
  }
  throw usageError(`edges needs a subcommand: add, ls${sub ? ` (not ${JSON.stringify(sub)})` : ''}`);
};
