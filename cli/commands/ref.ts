/**
 * `ref set|get|cas|rm|ls|log`: the store's references (names over hashes,
 * with history and compare-and-set; docs/format.md, "References v1").
 *
 * @module
 */
import { NotFoundError } from '../../src/errors.js';
import { isSha256Hex } from '../../src/hash.js';
import { parseJson, type JsonValue } from '../../src/json/canonical.js';
import { openReferences, type Reference, type References, type ReferenceVersion } from '../../src/refs/index.js';
import { allowOnly } from '../args.js';
import type { CliContext, Command } from '../context.js';
import { EXIT, usageError } from '../errors.js';
import { didYouMean, field } from '../text.js';

const SUBCOMMANDS = ['set', 'get', 'cas', 'rm', 'ls', 'log'];

/** The subcommands that change the store (the others open it read-only). */
export const CHANGING_SUBCOMMANDS: readonly string[] = ['set', 'cas', 'rm'];

function args(rest: string[], n: number, shape: string): string[] {
  if (rest.length !== n) throw usageError(`usage: archive-storage ref ${shape}`, 'ref');
  return rest;
}

function hashArg(text: string, what = 'HASH'): string {
  if (!isSha256Hex(text)) throw usageError(`${what} ${JSON.stringify(text)} is not a hash: expected 64 lowercase hex characters`, 'ref');
  return text;
}

function metaOf(ctx: CliContext): JsonValue | undefined {
  const text = ctx.args.values.meta;
  return text === undefined ? undefined : parseJson(text as string);
}

async function references(ctx: CliContext, reading: boolean): Promise<References> {
  // A read-only view has no lock and no swap: reading needs neither, and nothing it writes reaches the store.
  return openReferences(await ctx.archive(), { singleWriter: reading });
}

const iso = (ms: number) => new Date(ms).toISOString();

/** What set and cas print: the hash on stdout (--json: the reference), the change on stderr. */
function changed(ctx: CliContext, r: Reference): number {
  if (ctx.json) ctx.out(JSON.stringify(r));
  else {
    ctx.out(r.hash);
    ctx.info(`${r.name} -> ${r.hash} (version ${r.seq})`);
  }
  return EXIT.ok;
}

async function set(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'ref set', ['meta', 'allow-missing']);
  const [name, hash] = args(rest, 2, 'set NAME HASH [--meta JSON] [--allow-missing]');
  const refs = await references(ctx, false);
  return changed(ctx, await refs.set(name!, hashArg(hash!), { meta: metaOf(ctx), allowMissing: Boolean(ctx.args.values['allow-missing']), signal: ctx.signal }));
}

async function cas(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'ref cas', ['meta', 'allow-missing']);
  const [name, expected, hash] = args(rest, 3, 'cas NAME EXPECTED HASH [--meta JSON]   (EXPECTED: a hash, or - for absent)');
  const refs = await references(ctx, false);
  const r = await refs.compareAndSet(name!, expected === '-' ? null : hashArg(expected!, 'EXPECTED'), hashArg(hash!), {
    meta: metaOf(ctx),
    allowMissing: Boolean(ctx.args.values['allow-missing']),
    signal: ctx.signal,
  });
  return changed(ctx, r);
}

async function get(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'ref get', []);
  const [name] = args(rest, 1, 'get NAME');
  const r = await (await references(ctx, true)).get(name!, { signal: ctx.signal });
  if (!r) throw new NotFoundError(`no reference ${JSON.stringify(name)} in the store`);
  ctx.out(ctx.json ? JSON.stringify(r) : r.hash);
  return EXIT.ok;
}

async function rm(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'ref rm', []);
  const [name] = args(rest, 1, 'rm NAME');
  const removed = await (await references(ctx, false)).delete(name!, { signal: ctx.signal });
  if (!removed) throw new NotFoundError(`no reference ${JSON.stringify(name)} in the store`);
  if (ctx.json) ctx.out(JSON.stringify({ name, deleted: true }));
  else ctx.info(`deleted ${name} (its history stays: ref log ${name})`);
  return EXIT.ok;
}

async function ls(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'ref ls', []);
  if (rest.length > 1) throw usageError('usage: archive-storage ref ls [PREFIX]', 'ref');
  const found: Reference[] = [];
  for await (const r of (await references(ctx, true)).list({ prefix: rest[0] ?? '', signal: ctx.signal })) found.push(r);
  found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (ctx.json) ctx.out(JSON.stringify(found));
  else for (const r of found) ctx.out(`${r.name}\t${r.hash}`);
  return EXIT.ok;
}

function logLine(v: ReferenceVersion): string {
  return [String(v.seq), iso(v.time), v.hash ?? '-', v.meta === undefined ? '' : field(JSON.stringify(v.meta))].join('\t').trimEnd();
}

async function log(ctx: CliContext, rest: string[]): Promise<number> {
  allowOnly(ctx.args, 'ref log', []);
  const [name] = args(rest, 1, 'log NAME');
  const history = await (await references(ctx, true)).history(name!, { signal: ctx.signal });
  if (history.length === 0) throw new NotFoundError(`no reference ${JSON.stringify(name)} in the store (never set)`);
  if (ctx.json) ctx.out(JSON.stringify(history));
  else for (const v of history) ctx.out(logLine(v));
  return EXIT.ok;
}

const RUN: Record<string, (ctx: CliContext, rest: string[]) => Promise<number>> = { set, get, cas, rm, ls, log };

export const ref: Command = async (ctx) => {
  const [sub, ...rest] = ctx.args.positionals;
  if (sub !== undefined && Object.hasOwn(RUN, sub)) return RUN[sub]!(ctx, rest);
  throw usageError(`ref needs a subcommand: ${SUBCOMMANDS.join(', ')}${sub ? ` (not ${JSON.stringify(sub)}${didYouMean(sub, SUBCOMMANDS)})` : ''}`, 'ref');
};
