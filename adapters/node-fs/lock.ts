/**
 * The cross-process lock of the node-fs adapter: one file per lock under
 * `#locks/`, created exclusively, holding the holder's host, pid and a token,
 * kept fresh by a heartbeat (its mtime). A lock whose holder died (dead pid on
 * this host, or no heartbeat for `staleLockMs`) is taken over safely: a
 * short-lived breaker file makes sure two processes judging the same stale
 * lock cannot remove a fresh one.
 *
 * @module
 */
import * as nodePath from 'node:path';
import type { LockOptions } from '../../src/adapter/contract.js';
import { LockTimeoutError, throwIfAborted } from '../../src/errors.js';
import { sleep } from '../../src/internal/abort.js';
import { randomHex } from '../../src/internal/random-id.js';
import type { AtomicWriter } from './atomic-write.js';
import { errno } from './fs.js';
import { HOST, PID, pidAlive } from './host.js';

/** The folder of lock files under the root (`#` keeps it out of `list`). */
export const LOCK_DIR = '#locks';

/** A breaker is held for milliseconds; one older than this belongs to a process that died holding it. */
const BREAKER_STALE_MS = 5_000;

/** What a lock file holds. */
interface LockBody {
  host: string;
  pid: number;
  token: string;
  created: number;
}

/** A lock file as read: its body (undefined when torn) and its heartbeat. */
interface LockState {
  body: LockBody | undefined;
  mtimeMs: number;
}

/** Settings of {@link FileLocks}. */
export interface FileLockSettings {
  /** A lock not refreshed for this long is stale. */
  staleLockMs: number;
  /** Wait before `LockTimeoutError` when the caller gives no `timeoutMs`. */
  defaultTimeoutMs: number;
}

/** Lock files under one root. Exclusion within the process is the caller's (a mutex in front). */
export class FileLocks {
  constructor(
    private readonly writer: AtomicWriter,
    private readonly root: string,
    private readonly settings: FileLockSettings,
  ) {}

  /**
   * Takes lock `name`, waiting (with backoff) until it is free or stale, up to
   * `options.timeoutMs`; resolves the function that releases it.
   */
  async acquire(name: string, options: LockOptions | undefined): Promise<() => Promise<void>> {
    const p = this.writer.p;
    const path = nodePath.join(this.root, LOCK_DIR, `${name}.lock`);
    const body = newBody();
    const timeoutMs = options?.timeoutMs ?? this.settings.defaultTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    let wait = 2;
    for (;;) {
      throwIfAborted(options?.signal);
      if (await this.tryCreate(path, body)) break;
      const held = await this.read(path);
      if (held && this.isStale(held)) {
        await this.breakStale(path, held);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = held?.body ? ` (held by pid ${held.body.pid} on ${held.body.host})` : '';
        throw new LockTimeoutError(`node-fs: lock "${name}" on ${this.root} not acquired within ${timeoutMs} ms${who}`);
      }
      await sleep(wait + Math.random() * wait, options?.signal);
      wait = Math.min(wait * 2, 50);
    }
    // Heartbeat: a live holder keeps its lock fresh however long it holds it.
    const beat = setInterval(() => {
      p.utimes(path, new Date()).catch(() => {});
    }, Math.max(50, Math.floor(this.settings.staleLockMs / 4)));
    (beat as { unref?: () => void }).unref?.();
    return async () => {
      clearInterval(beat);
      const now = await this.read(path).catch(() => undefined);
      // Remove it only if it is still ours (it may have been judged stale and taken over).
      if (now?.body?.token === body.token) await p.unlink(path).catch(() => {});
    };
  }

  private async read(path: string): Promise<LockState | undefined> {
    const p = this.writer.p;
    try {
      const [bytes, st] = await Promise.all([p.readFile(path), p.stat(path)]);
      let body: LockBody | undefined;
      try {
        body = JSON.parse(new TextDecoder().decode(bytes)) as LockBody;
      } catch {
        body = undefined; // torn while being written; judged by age alone
      }
      return { body, mtimeMs: st.mtimeMs };
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  private isStale(lock: LockState): boolean {
    const age = Date.now() - lock.mtimeMs;
    if (lock.body && lock.body.host === HOST && lock.body.pid !== PID && !pidAlive(lock.body.pid)) return true;
    return age > this.settings.staleLockMs;
  }

  /** Creates the lock file exclusively; false when someone else holds it. */
  private async tryCreate(path: string, body: LockBody): Promise<boolean> {
    const p = this.writer.p;
    await this.writer.ensureDir(nodePath.dirname(path));
    let fd: number;
    try {
      fd = await p.open(path, 'wx');
    } catch (e) {
      if (errno(e) === 'EEXIST') return false;
      throw e;
    }
    try {
      await p.writeAll(fd, new TextEncoder().encode(JSON.stringify(body)));
    } finally {
      await p.close(fd);
    }
    return true;
  }

  /**
   * Removes a stale lock, guarded by a short-lived breaker file so that two
   * processes judging the same stale lock cannot remove a fresh one: under the
   * breaker the lock is re-read and removed only if it is still the one judged.
   */
  private async breakStale(path: string, judged: LockState): Promise<void> {
    const p = this.writer.p;
    const breaker = `${path}.break`;
    if (!(await this.tryCreate(breaker, newBody()))) {
      const b = await this.read(breaker);
      if (b && Date.now() - b.mtimeMs > BREAKER_STALE_MS) await p.unlink(breaker).catch(() => {});
      return;
    }
    try {
      const now = await this.read(path);
      if (now && now.mtimeMs === judged.mtimeMs && now.body?.token === judged.body?.token && this.isStale(now)) {
        await p.unlink(path).catch((e: unknown) => {
          if (errno(e) !== 'ENOENT') throw e;
        });
      }
    } finally {
      await p.unlink(breaker).catch(() => {});
    }
  }
}

function newBody(): LockBody {
  return { host: HOST, pid: PID, token: randomHex(8), created: Date.now() };
}
