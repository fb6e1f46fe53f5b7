/**
 * Writer liveness over Web Locks: each engine holds a lock named after its
 * writer id for as long as it lives, so other tabs can tell a dead writer's
 * segments are complete (it will never append to them again).
 *
 * @module
 */
import { webLocks } from '../../src/platform.js';

/** Name of the Web Lock a writer holds for as long as it lives. */
function writerLockName(root: string, writer: string): string {
  return `archive-storage:opfs:${root}:writer:${writer}`;
}

/** Writer ids whose lock is held right now, or undefined where Web Locks are missing (then every writer may be alive). */
export async function liveWriters(root: string): Promise<Set<string> | undefined> {
  const locks = webLocks();
  if (!locks?.query) return undefined;
  const prefix = writerLockName(root, '');
  const snapshot = await locks.query();
  const out = new Set<string>();
  for (const lock of snapshot.held ?? []) if (lock.name?.startsWith(prefix)) out.add(lock.name.slice(prefix.length));
  return out;
}

/** Takes this writer's lifetime lock; resolves the function that releases it (a no-op without Web Locks). */
export async function holdWriterLock(root: string, writer: string): Promise<() => void> {
  const locks = webLocks();
  if (!locks) return () => {};
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await new Promise<void>((granted, failed) => {
    locks.request(writerLockName(root, writer), () => {
      granted();
      return held;
    }).catch(failed);
  });
  return release;
}

/**
 * Runs `fn` under the directory's compaction lock, so two tabs never compact
 * at once; resolves `false` without running it when another tab holds it.
 * Without Web Locks it just runs.
 */
export async function withCompactionLock(root: string, fn: () => Promise<boolean>): Promise<boolean> {
  const locks = webLocks();
  if (!locks) return fn();
  return locks.request(`archive-storage:opfs:${root}:compact`, { ifAvailable: true }, (lock) => (lock ? fn() : false));
}
