/**
 * Leftover temp files: finding and removing the ones whose writer died.
 *
 * A process that writes under a root registers `#writers/<host tag>-<pid>-<8 hex>`
 * on its first write and removes it on close. Only a marker left by a dead
 * process (or an hour old, for another host) means temp files may have been
 * abandoned, so opening a big archive after a clean shutdown costs one readdir
 * instead of a walk over every shard directory.
 *
 * @module
 */
import * as nodePath from 'node:path';
import { throwIfAborted } from '../../src/errors.js';
import { randomHex } from '../../src/internal/random-id.js';
import { TEMP_RE, type AtomicWriter } from './atomic-write.js';
import { errno, fsError } from './fs.js';
import { HOST_TAG, PID, pidAlive } from './host.js';

/** The folder of writer markers under the root (`#` keeps it out of `list`). */
export const WRITERS_DIR = '#writers';

/** A temp file (or marker) of a live process, or of another host, is left alone until this old. */
const TEMP_ABANDONED_MS = 60 * 60 * 1000;

/** A writer marker's name: host tag, pid, random part. */
const MARKER_RE = /^([0-9a-f]{6})-(\d+)-[0-9a-f]+$/;

/** Temp-file hygiene for one root: this process's writer marker and the sweep of dead writers' leftovers. */
export class TempSweeper {
  private readonly writersDir: string;
  private readonly marker: string;
  private registered: Promise<void> | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(
    private readonly writer: AtomicWriter,
    private readonly root: string,
  ) {
    this.writersDir = nodePath.join(root, WRITERS_DIR);
    this.marker = nodePath.join(this.writersDir, `${HOST_TAG}-${PID}-${randomHex(4)}`);
  }

  /** Registers this process as a writer (once; a failed attempt is tried again by the next write). */
  registerWriter(): Promise<void> {
    return (this.registered ??= (async () => {
      await this.writer.ensureDir(this.writersDir);
      await this.writer.p.close(await this.writer.p.open(this.marker, 'w'));
    })().catch((e: unknown) => {
      this.registered = undefined;
      throw e;
    }));
  }

  /** A clean shutdown: removes this process's marker, so the next opener has nothing to sweep. */
  async unregisterWriter(): Promise<void> {
    if (this.registered) await this.registered.then(() => this.writer.p.unlink(this.marker)).catch(() => {});
  }

  /**
   * Removes leftover temp files (of dead processes on this host, or older than
   * an hour); resolves how many were removed. A sweep in progress is shared.
   */
  sweep(signal?: AbortSignal): Promise<number> {
    if (!this.sweeping) {
      this.sweeping = this.sweepOnce(signal)
        .catch((e: unknown) => {
          throw fsError(e, `sweep ${this.root}`);
        })
        .finally(() => (this.sweeping = undefined));
    }
    return this.sweeping;
  }

  /**
   * The sweep on opening: only when a writer marker says a writer died, then
   * that marker goes too. Best effort (resolves 0 on failure): an explicit
   * {@link sweep} reports errors.
   */
  async sweepAfterDeadWriters(): Promise<number> {
    try {
      const dead = await this.deadMarkers();
      if (dead.length === 0) return 0;
      const removed = await this.sweep();
      await Promise.all(dead.map((d) => this.writer.p.unlink(d).catch(() => {})));
      return removed;
    } catch {
      return 0;
    }
  }

  private async deadMarkers(): Promise<string[]> {
    const p = this.writer.p;
    const names = await p.readdirIfAny(this.writersDir);
    const dead: string[] = [];
    for (const ent of names ?? []) {
      const name = String(ent.name);
      const m = MARKER_RE.exec(name);
      const full = nodePath.join(this.writersDir, name);
      if (m && m[1] === HOST_TAG) {
        if (!pidAlive(Number(m[2]))) dead.push(full);
      } else {
        const st = await p.stat(full).catch(() => undefined);
        if (st && Date.now() - st.mtimeMs > TEMP_ABANDONED_MS) dead.push(full);
      }
    }
    return dead;
  }

  private async sweepOnce(signal?: AbortSignal): Promise<number> {
    const p = this.writer.p;
    let removed = 0;
    const now = Date.now();
    const visit = async (dir: string): Promise<void> => {
      const entries = await p.readdirIfAny(dir);
      for (const ent of entries ?? []) {
        throwIfAborted(signal);
        const name = String(ent.name);
        const full = nodePath.join(dir, name);
        if (ent.isDirectory()) {
          await visit(full);
          continue;
        }
        const m = TEMP_RE.exec(name);
        if (!m) continue;
        // Ours to sweep: a dead process's on this host; anyone's once it is an hour old.
        let abandoned = m[1] === HOST_TAG && !pidAlive(Number(m[2]));
        if (!abandoned) {
          try {
            abandoned = now - (await p.stat(full)).mtimeMs > TEMP_ABANDONED_MS;
          } catch {
            continue;
          }
        }
        if (abandoned) {
          try {
            await p.unlink(full);
            removed++;
          } catch (e) {
            if (errno(e) !== 'ENOENT') throw e;
          }
        }
      }
    };
    await visit(this.root);
    return removed;
  }
}
