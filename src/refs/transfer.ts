/**
 * References moving between archives (bundle import, `syncArchive`): the one
 * rule that decides, per name, what an incoming reference document does to
 * the target's (docs/format.md, "Bundle v2: references in bundles and in
 * sync"), and the compare-and-swap writes that carry it out without ever
 * overwriting a concurrent writer.
 *
 * Kept apart from `references.ts`: an import adopts whole documents (the
 * source's history, its `seq` and times) instead of adding a version.
 *
 * @module
 */
import type { CompareAndSwap } from '../adapter/cas.js';
import { ConflictError, type ErrorOptions } from '../errors.js';
import { bytesEqual } from '../internal/bytes.js';
import { referenceKey } from '../archive/layout.js';
import { decodeReferenceDocument, encodeReferenceDocument, MAX_KEEP_VERSIONS, type ReferenceDocument, type ReferenceVersion } from './document.js';

/** A reference's state: its newest version, by `seq` and `hash` (`null`: deleted). */
export interface ReferenceState {
  readonly seq: number;
  readonly hash: string | null;
}

/** A name whose target and incoming states are on different histories. */
export interface ReferenceTransferConflict {
  readonly name: string;
  /** The target's state (kept). */
  readonly target: ReferenceState;
  /** The state the bundle or the sync source brought. */
  readonly incoming: ReferenceState;
}

/** What the rule decided for one name. */
export type TransferOutcome = 'created' | 'advanced' | 'unchanged' | 'behind' | 'conflict';

/** The decision for one name: the document to write for `created` / `advanced`. */
export type TransferDecision =
  | { kind: 'created' | 'advanced'; next: ReferenceDocument }
  | { kind: 'unchanged' | 'behind' }
  | { kind: 'conflict'; conflict: ReferenceTransferConflict };

/** Counts and conflicts of references moved by an import or a sync. */
export interface ReferenceTransferReport {
  /** Names the target did not have. */
  created: number;
  /** Names fast-forwarded: the target was at an earlier version of the same history. */
  advanced: number;
  /** Names already at the incoming state. */
  unchanged: number;
  /** Names where the target is ahead (the incoming state is in its history): kept. */
  behind: number;
  /** Names on another history at the target: kept, with both states. */
  conflicts: ReferenceTransferConflict[];
  /** Names the caller asked to leave as they are (`keepReferences` of an import): not looked at. */
  skipped?: number;
}

/** An empty {@link ReferenceTransferReport}. */
export function emptyTransferReport(): ReferenceTransferReport {
  return { created: 0, advanced: 0, unchanged: 0, behind: 0, conflicts: [] };
}

/** Counts `outcome` into `report`. */
export function countOutcome(report: ReferenceTransferReport, decision: TransferDecision): void {
  if (decision.kind === 'conflict') report.conflicts.push(decision.conflict);
  else report[decision.kind]++;
}

/**
 * An import found references the target holds at another history; nothing
 * was written (option `references: 'fail'`, the default). Code `CONFLICT`;
 * `conflicts` lists every such name with both states. Import again with
 * `references: 'skip-conflicts'` to take everything else and keep those
 * names as they are.
 */
export class ReferenceTransferConflictError extends ConflictError {
  readonly conflicts: readonly ReferenceTransferConflict[];

  constructor(conflicts: readonly ReferenceTransferConflict[], options?: ErrorOptions) {
    const shown = conflicts.slice(0, 5).map((c) => `${JSON.stringify(c.name)} (here ${stateText(c.target)}, bundle ${stateText(c.incoming)})`);
    const more = conflicts.length > 5 ? ` and ${conflicts.length - 5} more` : '';
    super(
      referenceKey(conflicts[0]!.name),
      `${conflicts.length} reference(s) are on another history in this archive than in the bundle: ${shown.join(', ')}${more}; ` +
        "nothing was imported (import with references: 'skip-conflicts' to keep those names as they are and take the rest)",
      options,
    );
    this.conflicts = conflicts;
  }
}

function stateText(s: ReferenceState): string {
  return `version ${s.seq}: ${s.hash ?? 'deleted'}`;
}

/** The state of a (decoded, so never empty) document. */
export function stateOf(doc: ReferenceDocument): ReferenceState {
  const top = doc.versions[0]!;
  return { seq: top.seq, hash: top.hash };
}

const sameState = (v: ReferenceVersion, s: ReferenceState) => v.seq === s.seq && v.hash === s.hash;

/**
 * The rule, on two documents of one name: created (no target), unchanged
 * (same state), advanced (the target's state is in the incoming history:
 * the incoming versions followed by the target's older ones), behind (the
 * incoming state is in the target's history), else conflict.
 */
export function decideTransfer(target: ReferenceDocument | undefined, incoming: ReferenceDocument): TransferDecision {
  if (!target) return { kind: 'created', next: incoming };
  const mine = stateOf(target);
  const theirs = stateOf(incoming);
  if (mine.seq === theirs.seq && mine.hash === theirs.hash) return { kind: 'unchanged' };
  if (incoming.versions.some((v, i) => i > 0 && sameState(v, mine))) {
    const oldest = incoming.versions[incoming.versions.length - 1]!.seq;
    const versions = [...incoming.versions, ...target.versions.filter((v) => v.seq < oldest)].slice(0, 1 + MAX_KEEP_VERSIONS);
    return { kind: 'advanced', next: { name: incoming.name, versions } };
  }
  if (target.versions.some((v, i) => i > 0 && sameState(v, theirs))) return { kind: 'behind' };
  return { kind: 'conflict', conflict: { name: incoming.name, target: mine, incoming: theirs } };
}

/** The target's document of `name` with its version token, decoded (CORRUPT_INDEX / UNSUPPORTED_VERSION refuse it). */
export async function readTargetDocument(
  cas: CompareAndSwap,
  name: string,
  signal?: AbortSignal,
): Promise<{ doc: ReferenceDocument | undefined; version: string | null; bytes: Uint8Array | undefined }> {
  const key = referenceKey(name);
  const stored = await cas.read(key, { signal });
  return { doc: stored && decodeReferenceDocument(stored.bytes, key, name), version: stored?.version ?? null, bytes: stored?.bytes };
}

/** Lost compare-and-swap rounds before a name is given up as contended (reported as a conflict). */
const MAX_ROUNDS = 50;

/**
 * Applies the rule to `incoming` at the target and writes the result by
 * compare-and-swap: read, decide, swap; a lost swap reads and decides again,
 * so a concurrent writer is never overwritten (its state then decides, and
 * may make the name a conflict). `first`, when given, is a write decided
 * earlier (its document and the token it was decided from), tried before
 * reading again. Resolves the decision that held.
 */
export async function adoptReference(
  cas: CompareAndSwap,
  incoming: ReferenceDocument,
  options: { signal?: AbortSignal; first?: { bytes: Uint8Array; expected: string | null } } = {},
): Promise<TransferDecision> {
  const { signal } = options;
  const key = referenceKey(incoming.name);
  if (options.first) {
    const won = await cas.swap(key, options.first.bytes, options.first.expected, { signal });
    if (won !== null) return decided(incoming, options.first.expected === null);
  }
  for (let round = 1; ; round++) {
    const { doc, version, bytes } = await readTargetDocument(cas, incoming.name, signal);
    if (options.first && bytes && bytesEqual(bytes, options.first.bytes)) return decided(incoming, options.first.expected === null);
    const decision = decideTransfer(doc, incoming);
    if (decision.kind !== 'created' && decision.kind !== 'advanced') return decision;
    if ((await cas.swap(key, encodeReferenceDocument(decision.next), version, { signal })) !== null) return decision;
    if (round >= MAX_ROUNDS) return { kind: 'conflict', conflict: { name: incoming.name, target: doc ? stateOf(doc) : { seq: 0, hash: null }, incoming: stateOf(incoming) } };
  }
}

/** The decision a planned write stood for, once it is in (the document itself is already written). */
function decided(incoming: ReferenceDocument, created: boolean): TransferDecision {
  return { kind: created ? 'created' : 'advanced', next: incoming };
}
