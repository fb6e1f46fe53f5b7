/**
 * Who is writing: this host and process, as they appear in temp-file names,
 * writer markers and lock files, and whether a process named there is still
 * alive. A file left by a dead process on this host can be cleaned up at once;
 * one from another host only once it is old.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import process from 'node:process';
import { errno } from './fs.js';

/** This machine's host name (lock files name it in full, for people to read). */
export const HOST = hostname();

/** Six hex digits standing for this host in file names (no host name characters leak into paths). */
export const HOST_TAG = createHash('sha256').update(HOST).digest('hex').slice(0, 6);

/** This process's id. */
export const PID = process.pid;

/** Whether process `pid` on this host is alive (or exists under another user). */
export function pidAlive(pid: number): boolean {
  if (pid === PID) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === 'EPERM'; // exists, owned by someone else
  }
}

