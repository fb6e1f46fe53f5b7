/**
 * `intents add|set|ls|show|rm|snapshot`: the intents of the store's graph.
 *
 * @module
 */
import { version } from '../../package.json';
import { NotFoundError } from '../../src/errors.js';
import { parseJson } from '../../src/json/canonical.js';
import { newIntent } from '../../src/intent-graph/new-intent.js';
import { printRtfsSnapshot } from '../../src/intent-graph/rtfs/index.js';
import { INTENT_STATUSES, U32_MAX, type IntentStatus, type StorableIntent } from '../../src/intent-graph/types.js';
import { validateIntent } from '../../src/intent-graph/validate.js';
import { allowOnly, numberOption } from '../args.js';
import type { CliContext, Command } from '../context.js';
import { EXIT, usageError } from '../errors.js';
import { decodeUtf8, readInput } from '../io.js';
import { count, didYouMean, field } from '../text.js';
import { intentStore } from './graph.js';

const SUBCOMMANDS = ['add', 'set', 'ls', 'show', 'rm', 'snapshot'];

/** `--status S` checked against the CCOS statuses (usage error with the closest one otherwise). */
function statusOption(ctx: CliContext): IntentStatus | undefined {
  const status = ctx.args.values.status as string | undefined;
  if (status === undefined || INTENT_STATUSES.includes(status as IntentStatus)) return status as IntentStatus | undefined;
  throw usageError(`--status ${JSON.stringify(status)}: must be one of ${INTENT_STATUSES.join(', ')}${didYouMean(status, INTENT_STATUSES)}`, 'intents');
}

/** `--priority N`: an integer from 0 to u32::MAX, as CCOS stores it. */
function priorityOption(ctx: CliContext): number | undefined {
  const text = ctx.args.values.priority as string | undefined;
  if (text === undefined) return undefined;
  const n = numberOption('priority', text);
  if (!Number.isInteger(n) || n < 0 || n > U32_MAX) throw usageError(`--priority ${JSON.stringify(text)}: expected an integer from 0 to ${U32_MAX}`, 'intents');
  return n;
}

function oneId(rest: string[], shape: string): string {
  if (rest.length !== 1) throw usageError(`usage: archive-storage intents ${shape}`, 'intents');
  return rest[0]!;
}

async function add(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'intents add', ['goal']);
  const goal = ctx.args.values.goal as string | undefined;
  if (goal !== undefined && rest.length > 0) throw usageError('intents add takes either FILE|- or --goal TEXT, not both', 'intents');
  let intent: StorableIntent;
  if (goal !== undefined) intent = newIntent(goal, { arbiterVersion: `archive-storage-cli/${version}` });
  else {
    if (rest.length > 1) throw usageError('usage: archive-storage intents add FILE|- | --goal TEXT', 'intents');
    const source = rest[0] ?? '-';
    intent = validateIntent(parseJson(decodeUtf8(await readInput(source, ctx.stdin), source === '-' ? 'stdin' : source)));
  }
  const store = await intentStore(ctx);
  const id = await store.store(intent, { signal: ctx.signal });
  ctx.out(ctx.json ? JSON.stringify({ intent_id: id }) : id);
  return EXIT.ok;
}

async function set(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'intents set', ['status', 'goal', 'priority', 'name']);
  const id = oneId(rest, 'set ID [--status S] [--goal TEXT] [--priority N] [--name TEXT]');
  const status = statusOption(ctx);
  const priority = priorityOption(ctx);
  const goal = ctx.args.values.goal as string | undefined;
  const name = ctx.args.values.name as string | undefined;
  if (status === undefined && priority === undefined && goal === undefined && name === undefined) {
    throw usageError('intents set needs at least one of --status, --goal, --priority, --name', 'intents');
  }
  const store = await intentStore(ctx);
  const old = await store.get(id, { signal: ctx.signal });
  if (!old) throw new NotFoundError(`no intent ${JSON.stringify(id)} in the store`);
  const next: StorableIntent = {
    ...old,
    ...(status !== undefined ? { status } : {}),
    ...(priority !== undefined ? { priority } : {}),
    ...(goal !== undefined ? { goal } : {}),
    ...(name !== undefined ? { name: name === '' ? null : name } : {}),
    updated_at: Math.max(old.updated_at, Math.floor(Date.now() / 1000)),
  };
  await store.update(next, { signal: ctx.signal });
  const changed = (['status', 'priority', 'goal', 'name'] as const).filter((k) => old[k] !== next[k]);
  if (ctx.json) ctx.out(JSON.stringify(next));
  else ctx.info(changed.length ? `updated ${id}: ${changed.map((k) => `${k} ${JSON.stringify(old[k])} -> ${JSON.stringify(next[k])}`).join(', ')}` : `${id} unchanged (updated_at stamped)`);
  return EXIT.ok;
}

async function ls(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'intents ls', ['status', 'goal-contains']);
  if (rest.length) throw usageError('usage: archive-storage intents ls [--status S] [--goal-contains T]', 'intents');
  const status = statusOption(ctx);
  const goalContains = ctx.args.values['goal-contains'] as string | undefined;
  const store = await intentStore(ctx);
  const intents = await store.list({ ...(status ? { status } : {}), ...(goalContains !== undefined ? { goalContains } : {}) }, { signal: ctx.signal });
  if (ctx.json) ctx.out(JSON.stringify(intents));
  else for (const i of intents) ctx.out([i.intent_id, i.status, String(i.priority), i.goal].map(field).join('\t'));
  return EXIT.ok;
}

async function show(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'intents show', []);
  const id = oneId(rest, 'show ID');
  const intent = await (await intentStore(ctx)).get(id, { signal: ctx.signal });
  if (!intent) throw new NotFoundError(`no intent ${JSON.stringify(id)} in the store`);
  ctx.out(JSON.stringify(intent, null, ctx.json ? undefined : 2));
  return EXIT.ok;
}

async function rm(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'intents rm', []);
  const id = oneId(rest, 'rm ID');
  const store = await intentStore(ctx);
  await store.delete(id, { signal: ctx.signal });
  const left = (await store.edgesOf(id, { signal: ctx.signal })).length;
  if (left > 0) ctx.info(`archive-storage: note: ${count(left, 'edge')} still ${left === 1 ? 'names' : 'name'} ${id} (kept, as CCOS keeps them; edges rm removes them)`);
  return EXIT.ok;
}

async function snapshot(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'intents snapshot', []);
  if (rest.length) throw usageError('usage: archive-storage intents snapshot', 'intents');
  const store = await intentStore(ctx);
  ctx.out(printRtfsSnapshot(await store.snapshot({ signal: ctx.signal })).replace(/\n$/, ''));
  return EXIT.ok;
}

const RUN: Record<string, (ctx: CliContext, rest: string[]) => Promise<number>> = { add, set, ls, show, rm, snapshot };

export const intents: Command = async (ctx) => {
  const [sub, ...rest] = ctx.args.positionals;
  if (sub !== undefined && Object.hasOwn(RUN, sub)) return RUN[sub]!(ctx, rest);
  throw usageError(`intents needs a subcommand: ${SUBCOMMANDS.join(', ')}${sub ? ` (not ${JSON.stringify(sub)}${didYouMean(sub, SUBCOMMANDS)})` : ''}`, 'intents');
};
