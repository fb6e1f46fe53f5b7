/**
 * `edges add|rm|ls`: the edges of the store's intent graph.
 *
 * @module
 */
import { NotFoundError } from '../../src/errors.js';
import { EDGE_TYPES, type Edge, type EdgeType } from '../../src/intent-graph/types.js';
import { allowOnly, numberOption } from '../args.js';
import type { CliContext, Command } from '../context.js';
import { EXIT, usageError } from '../errors.js';
import { count, didYouMean, field } from '../text.js';
import { intentStore } from './graph.js';

const SUBCOMMANDS = ['add', 'rm', 'ls'];

/** FROM TO TYPE, with TYPE checked against the CCOS edge types. */
function endpoints(rest: string[], shape: string): { from: string; to: string; type: EdgeType } {
  if (rest.length !== 3) throw usageError(`usage: archive-storage edges ${shape}`, 'edges');
  const [from, to, type] = rest as [string, string, string];
  if (!EDGE_TYPES.includes(type as EdgeType)) {
    throw usageError(`TYPE ${JSON.stringify(type)}: must be one of ${EDGE_TYPES.join(', ')}${didYouMean(type, EDGE_TYPES)}`, 'edges');
  }
  return { from, to, type: type as EdgeType };
}

const weightOf = (ctx: CliContext) => (ctx.args.values.weight === undefined ? undefined : numberOption('weight', ctx.args.values.weight as string));
const describe = (e: Pick<Edge, 'from' | 'to' | 'edge_type'>) => `${e.from} -> ${e.to} (${e.edge_type})`;

async function add(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'edges add', ['weight']);
  const { from, to, type } = endpoints(rest, 'add FROM TO TYPE [--weight W]');
  const weight = weightOf(ctx) ?? null;
  const store = await intentStore(ctx);
  for (const id of [from, to]) {
    if (!(await store.get(id, { signal: ctx.signal }))) throw new NotFoundError(`no intent ${JSON.stringify(id)} in the store: add it first`);
  }
  const edge: Edge = { from, to, edge_type: type, metadata: null, weight };
  // CCOS allows both (its graph is a list of edges); a person typing them most likely did not mean to.
  const same = (await store.edgesOf(from, { signal: ctx.signal })).filter((e) => e.from === from && e.to === to && e.edge_type === type);
  if (from === to) ctx.info(`archive-storage: warning: ${describe(edge)} links an intent to itself; stored anyway, as CCOS allows`);
  if (same.length > 0) {
    ctx.info(`archive-storage: warning: ${describe(edge)} is there already (${count(same.length, 'time')}); stored another, as CCOS allows (edges rm removes one)`);
  }
  await store.storeEdge(edge, { signal: ctx.signal });
  if (ctx.json) ctx.out(JSON.stringify(edge));
  return EXIT.ok;
}

async function rm(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'edges rm', ['weight', 'all']);
  const { from, to, type } = endpoints(rest, 'rm FROM TO TYPE [--weight W] [--all]');
  const weight = weightOf(ctx);
  const store = await intentStore(ctx);
  const matching = (await store.edgesOf(from, { signal: ctx.signal })).filter(
    (e) => e.from === from && e.to === to && e.edge_type === type && (weight === undefined || e.weight === weight),
  );
  const what = `${from} -> ${to} (${type}${weight === undefined ? '' : `, weight ${weight}`})`;
  if (matching.length === 0) throw new NotFoundError(`no edge ${what} in the store`);
  const remove = ctx.args.values.all ? matching : matching.slice(0, 1);
  // The stored edges themselves (every field, metadata included), first one first.
  for (const edge of remove) await store.deleteEdge(edge, { signal: ctx.signal });
  const left = matching.length - remove.length;
  if (ctx.json) ctx.out(JSON.stringify({ removed: remove, left }));
  else ctx.info(`removed ${count(remove.length, 'edge')} ${what}${left ? `; ${count(left, 'more edge matches', 'more edges match')} (--all removes every one)` : ''}`);
  return EXIT.ok;
}

async function ls(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'edges ls', []);
  if (rest.length > 1) throw usageError('usage: archive-storage edges ls [ID]', 'edges');
  const store = await intentStore(ctx);
  const list = rest.length ? await store.edgesOf(rest[0]!, { signal: ctx.signal }) : await store.edges({ signal: ctx.signal });
  if (ctx.json) ctx.out(JSON.stringify(list));
  else for (const e of list) ctx.out([e.from, e.to, e.edge_type, e.weight === null ? '-' : String(e.weight)].map(field).join('\t'));
  return EXIT.ok;
}

const RUN: Record<string, (ctx: CliContext, rest: string[]) => Promise<number>> = { add, rm, ls };

export const edges: Command = async (ctx) => {
  const [sub, ...rest] = ctx.args.positionals;
  if (sub !== undefined && Object.hasOwn(RUN, sub)) return RUN[sub]!(ctx, rest);
  throw usageError(`edges needs a subcommand: ${SUBCOMMANDS.join(', ')}${sub ? ` (not ${JSON.stringify(sub)}${didYouMean(sub, SUBCOMMANDS)})` : ''}`, 'edges');
};
