/**
 * Archive commands: put, get, has, rm, ls, stats, verify (gc is in gc.ts).
 *
 * @module
 */
import { canonicalize, parseJson, type JsonValue } from '../../src/json/canonical.js';
import type { VerifyReport } from '../../src/archive/types.js';
import { InvalidJsonError } from '../../src/errors.js';
import { isSha256Hex } from '../../src/hash.js';
import { allowOnly, expectPositionals } from '../args.js';
import type { Command, CliContext } from '../context.js';
import { EXIT, usageError } from '../errors.js';
import { checkPutMemory, decodeUtf8, maxPutInputBytes, readInput } from '../io.js';
import { count } from '../text.js';

/** How many values `put --ndjson` stores per batch (one durability barrier each). */
const NDJSON_BATCH = 1000;

function hashArg(ctx: CliContext, what: string): string {
  const [hash] = expectPositionals(ctx.args, what, 1, 1, 'HASH');
  if (!isSha256Hex(hash)) throw usageError(`${JSON.stringify(hash)} is not a hash: expected 64 lowercase hex characters`);
  return hash!;
}

/** Parses every NDJSON line first, so that a bad line stores nothing. Blank lines are skipped. */
function parseNdjson(text: string): JsonValue[] {
  const values: JsonValue[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    try {
      values.push(parseJson(line));
    } catch (e) {
      if (e instanceof InvalidJsonError) throw new InvalidJsonError(e.path, `line ${i + 1}: ${e.message.slice(e.path.length + 2)}`, { cause: e });
      throw e;
    }
  }
  return values;
}

/**
 * The text of put's input, within the size limit. Its own function, so that
 * neither the bytes nor the text stay referenced once the value is parsed.
 */
async function inputText(ctx: CliContext, file: string | undefined): Promise<string> {
  const what = file && file !== '-' ? file : 'stdin';
  const text = decodeUtf8(await readInput(file, ctx.stdin, { maxBytes: maxPutInputBytes() }), what);
  checkPutMemory(text, what);
  return text;
}

export const put: Command = async (ctx) => {
  allowOnly(ctx.args, 'put', ['ndjson']);
  const [file] = expectPositionals(ctx.args, 'put', 0, 1, '[--ndjson] [FILE|-]');
  // Parsed before the store is opened: bad input stores nothing and creates no store.
  if (!ctx.args.values.ndjson) {
    const value = parseJson(await inputText(ctx, file));
    const hash = await (await ctx.archive()).put(value, { signal: ctx.signal });
    ctx.out(ctx.json ? JSON.stringify({ hash }) : hash);
    return EXIT.ok;
  }
  const values = parseNdjson(await inputText(ctx, file));
  const archive = await ctx.archive();
  const bar = ctx.progress('put');
  const hashes: string[] = [];
  for (let i = 0; i < values.length; i += NDJSON_BATCH) {
    hashes.push(...(await archive.putMany(values.slice(i, i + NDJSON_BATCH), { signal: ctx.signal })));
    bar.update({ done: hashes.length, total: values.length });
  }
  bar.done();
  if (ctx.json) ctx.out(JSON.stringify({ hashes }));
  else for (const h of hashes) ctx.out(h);
  return EXIT.ok;
};

export const get: Command = async (ctx) => {
  allowOnly(ctx.args, 'get', []);
  const hash = hashArg(ctx, 'get');
  const value = await (await ctx.archive()).get(hash, { signal: ctx.signal });
  ctx.out(canonicalize(value));
  return EXIT.ok;
};

export const has: Command = async (ctx) => {
  allowOnly(ctx.args, 'has', []);
  const hash = hashArg(ctx, 'has');
  const present = await (await ctx.archive()).has(hash, { signal: ctx.signal });
  if (ctx.json) ctx.out(JSON.stringify({ hash, present }));
  return present ? EXIT.ok : EXIT.notFound;
};

export const rm: Command = async (ctx) => {
  allowOnly(ctx.args, 'rm', []);
  const hash = hashArg(ctx, 'rm');
  const archive = await ctx.archive();
  if (!(await archive.has(hash, { signal: ctx.signal }))) {
    ctx.info(`archive-storage: NOT_FOUND: no object ${hash} in the store`);
    return EXIT.notFound;
  }
  await archive.delete(hash, { signal: ctx.signal });
  if (ctx.json) ctx.out(JSON.stringify({ deleted: hash }));
  return EXIT.ok;
};

export const ls: Command = async (ctx) => {
  allowOnly(ctx.args, 'ls', []);
  expectPositionals(ctx.args, 'ls', 0, 0, '');
  const archive = await ctx.archive();
  if (ctx.json) {
    const hashes: string[] = [];
    for await (const h of archive.list({ signal: ctx.signal })) hashes.push(h);
    ctx.out(JSON.stringify(hashes.sort()));
  } else {
    for await (const h of archive.list({ signal: ctx.signal })) ctx.out(h);
  }
  return EXIT.ok;
};

const iso = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());

export const stats: Command = async (ctx) => {
  allowOnly(ctx.args, 'stats', []);
  expectPositionals(ctx.args, 'stats', 0, 0, '');
  const s = await (await ctx.archive()).stats({ signal: ctx.signal });
  if (ctx.json) ctx.out(JSON.stringify(s));
  else {
    ctx.out(`objects: ${s.count}`);
    ctx.out(`bytes:   ${s.bytes}`);
    ctx.out(`oldest:  ${iso(s.oldest)}`);
    ctx.out(`newest:  ${iso(s.newest)}`);
  }
  return EXIT.ok;
};

/** The damage lines of a report: `corrupt:`, `missing:`, `orphaned:`. */
function damageLines(report: VerifyReport): string[] {
  return [
    ...report.corrupt.map((h) => `corrupt: ${h}`),
    ...report.missing.map((h) => `missing: ${h}`),
    ...report.orphaned.map((h) => `orphaned: ${h}`),
  ];
}

/** What a repair did, from what the verify before it found. */
function repairSummary(found: VerifyReport): string {
  const done = [
    found.corrupt.length ? `quarantined ${count(found.corrupt.length, 'corrupt object')}` : '',
    found.missing.length ? `dropped ${count(found.missing.length, 'missing object')} from the index` : '',
    found.orphaned.length ? `indexed ${count(found.orphaned.length, 'orphaned object')}` : '',
  ].filter(Boolean);
  return `repaired: ${done.length ? done.join(', ') : 'nothing to do'}; index rebuilt`;
}

export const verify: Command = async (ctx) => {
  allowOnly(ctx.args, 'verify', ['repair']);
  expectPositionals(ctx.args, 'verify', 0, 0, '[--repair]');
  const archive = await ctx.archive();
  const repair = Boolean(ctx.args.values.repair);
  const run = async (withRepair: boolean, label: string) => {
    const bar = ctx.progress(label);
    const report = await archive.verify({ signal: ctx.signal, repair: withRepair, onProgress: (p) => bar.update(p) });
    bar.done();
    return report;
  };
  const found = await run(repair, 'verify');
  // After a repair, check again: what the repair could not mend is what is left.
  const left = repair && !found.ok ? await run(false, 'recheck') : undefined;
  const ok = left ? left.ok : found.ok;
  if (ctx.json) ctx.out(JSON.stringify(left ? { ...found, left: { corrupt: left.corrupt, missing: left.missing, orphaned: left.orphaned }, ok } : found));
  else {
    ctx.out(`checked: ${found.checked}`);
    for (const line of damageLines(found)) ctx.out(line);
    if (left) {
      ctx.out(repairSummary(found));
      for (const line of damageLines(left)) ctx.out(`left ${line}`);
      ctx.out(ok ? 'ok: nothing left to repair' : `damaged: ${count(damageLines(left).length, 'problem')} left after the repair`);
    } else ctx.out(ok ? 'ok' : 'damaged (verify --repair mends it)');
  }
  return ok ? EXIT.ok : EXIT.damage;
};
