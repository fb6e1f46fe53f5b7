/**
 * Live updates from other tabs: the open archive's change events
 * (`archive.watch`, woken across tabs by the SDK's BroadcastChannel) are
 * gathered here, and the page is told at most every {@link COALESCE_MS} that
 * something changed elsewhere, with what. A 10 000-object import in another
 * tab is then a handful of refreshes here, not 10 000.
 *
 * Only changes made by other handles count (`local: false`); this tab's own
 * actions refresh the page themselves. Every change's position is kept, so a
 * watch restarted on a reopened archive resumes exactly after the last one
 * seen (`since`), and nothing that happened in between is missed.
 */
import type { ArchiveChange, ContentArchive } from '../src/index.js';

/** Shortest time between two refreshes caused by other tabs. */
export const COALESCE_MS = 200;

/** What other tabs changed since the last {@link LiveWatch.take}. */
export interface RemoteChanges {
  /** Objects stored. */
  puts: number;
  /** Objects deleted. */
  deletes: number;
  /** Reference changes under the intent graph's base (intents and edges added, changed, deleted, a replace). */
  graph: number;
}

/** A running watch of one archive. */
export interface LiveWatch {
  /** The changes gathered so far, and a fresh start. */
  take(): RemoteChanges;
  /** Stops watching; resolves the position of the last change seen (where a new watch resumes), or `'now'` if none. */
  stop(): string;
}

const none = (): RemoteChanges => ({ puts: 0, deletes: 0, graph: 0 });
export const isEmpty = (c: RemoteChanges): boolean => c.puts + c.deletes + c.graph === 0;

/**
 * Watches `archive` from `since`; `onRemote` runs (at most every
 * {@link COALESCE_MS}) when other tabs changed something, `onError` when the
 * watch stopped (e.g. `CHANGES_TRIMMED`).
 */
export function watchOtherTabs(
  archive: ContentArchive,
  options: { since: string; graphBase: string; onRemote: () => void; onError: (e: unknown) => void },
): LiveWatch {
  const { graphBase, onRemote } = options;
  let position = options.since;
  let pending = none();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastFlush = 0;
  let stopped = false;

  const flush = () => {
    timer = undefined;
    if (stopped || isEmpty(pending)) return;
    lastFlush = Date.now();
    onRemote();
  };
  const schedule = () => {
    if (timer !== undefined) return;
    timer = setTimeout(flush, Math.max(0, lastFlush + COALESCE_MS - Date.now()));
  };
  const count = (c: ArchiveChange) => {
    switch (c.kind) {
      case 'put':
        pending.puts++;
        break;
      case 'delete':
        pending.deletes++;
        break;
      case 'ref-set':
      case 'ref-delete':
        // The intent graph lives on references (docs/intent-graph.md); other references are not shown here.
        if (c.name.startsWith(`${graphBase}/`)) pending.graph++;
        else return;
        break;
    }
    schedule();
  };
  const unwatch = archive.watch(
    (c) => {
      position = c.position;
      if (!c.local) count(c);
    },
    { since: options.since, onError: (e) => (stopped ? undefined : options.onError(e)) },
  );
  return {
    take() {
      const taken = pending;
      pending = none();
      return taken;
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      unwatch();
      return position;
    },
  };
}

/** "2 objects stored, 1 deleted": what other tabs did to the archive, for the objects panel. */
export function describeObjectChanges(c: RemoteChanges): string | undefined {
  const parts: string[] = [];
  if (c.puts > 0) parts.push(`${c.puts} object${c.puts === 1 ? '' : 's'} stored`);
  if (c.deletes > 0) parts.push(`${c.deletes} object${c.deletes === 1 ? '' : 's'} deleted`);
  return parts.length === 0 ? undefined : `From another tab: ${parts.join(', ')}.`;
}
