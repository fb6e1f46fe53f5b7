/**
 * Change events of one archive handle (docs/changes.md): `changes()` as an
 * async iterable and `watch()` as a listener, each over its own
 * {@link ChangeReader}, polled every `pollMs` and woken at once by a commit of
 * this handle ({@link ChangeHub.announce}) or, through a `BroadcastChannel`,
 * of another tab or worker of the origin.
 *
 * A wake-up carries nothing but "look now": the log is the only source of
 * changes, so a spurious wake costs one read of the log and a missed one at
 * most `pollMs`.
 *
 * @module
 */
import { ClosedError, InvalidArgumentError, isArchiveStorageError } from '../errors.js';
import { anySignal } from '../internal/abort.js';
import { broadcastChannelConstructor, processId } from '../platform.js';
import { ChangeReader, type ChangeReaderSettings } from './reader.js';
import type { ArchiveChange, ChangesOptions, WatchOptions } from './types.js';

/** Default interval between two reads of the log, ms. */
export const DEFAULT_POLL_MS = 250;

/** Shortest `pollMs` accepted. */
export const MIN_POLL_MS = 10;

/** What a hub needs of its archive. */
export type ChangeHubSettings = Omit<ChangeReaderSettings, 'onDamaged' | 'isLocal'> & {
  /** The BroadcastChannel name shared by the handles of one storage in an origin. */
  channel: string;
};

interface Subscriber {
  wake(): void;
}

/** The change events of one archive handle; see the module comment. */
export class ChangeHub {
  private readonly writers = new Set<string>();
  private readonly subscribers = new Set<Subscriber>();
  private channel: BroadcastChannel | null | undefined;
  private closed = false;
  private posting = false;

  constructor(private readonly settings: ChangeHubSettings) {}

  /** Marks a writer id (of this handle's journal or references) as local: its changes get `local: true`. */
  noteWriter(id: string): void {
    this.writers.add(id);
  }

  /**
   * A commit of this handle resolved: wake this handle's readers and tell the
   * other tabs, once for all the commits that resolve together (a burst of
   * puts costs one message).
   */
  announce(): void {
    if (this.closed) return;
    for (const s of this.subscribers) s.wake();
    if (this.posting) return;
    this.posting = true;
    queueMicrotask(() => {
      this.posting = false;
      try {
        this.open()?.postMessage(1);
      } catch {
        // A closed or failing channel only delays other tabs to their next poll.
      }
    });
  }

  /** Changes after `options.since` (default `'now'`), until `signal` aborts or the archive closes. */
  changes(options: ChangesOptions = {}): AsyncIterable<ArchiveChange> {
    if (this.closed) throw new ClosedError('the archive is closed; open it again with openArchive()');
    const { since = 'now', signal, onDamaged } = options;
    const pollMs = checkPollMs(options.pollMs);
    if (typeof since !== 'string') throw new InvalidArgumentError(`changes({ since }) takes a position string or 'now', got ${typeof since}`);
    // Opened now, not on the first next(): 'now' is the moment of this call.
    const opening = ChangeReader.open({ ...this.settings, isLocal: (w) => this.writers.has(w), onDamaged }, since, signal);
    opening.catch(() => {}); // rethrown by the first next()
    return { [Symbol.asyncIterator]: () => this.loop(opening, pollMs, signal) };
  }

  /**
   * Calls `listener` with every change after `options.since`; returns the
   * function that stops it. An error that ends the watch (a trimmed
   * position, a failing backend) goes to `options.onError`, and so does a
   * listener that throws (the watch goes on).
   */
  watch(listener: (change: ArchiveChange) => void, options: WatchOptions = {}): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError('watch(listener) needs a function');
    const stop = new AbortController();
    const signal = anySignal(stop.signal, options.signal)!;
    const iterable = this.changes({ ...options, signal });
    const report = (e: unknown) => {
      try {
        options.onError?.(e);
      } catch {
        // The error hook's own failure has nowhere to go.
      }
    };
    void (async () => {
      try {
        for await (const change of iterable) {
          try {
            listener(change);
          } catch (e) {
            report(e);
          }
        }
      } catch (e) {
        if (!signal.aborted) report(e);
      }
    })();
    return () => stop.abort();
  }

  /** Ends every iteration (they return) and closes the channel. */
  close(): void {
    this.closed = true;
    for (const s of this.subscribers) s.wake();
    this.channel?.close();
    this.channel = null;
  }

  private async *loop(opening: Promise<ChangeReader>, pollMs: number, signal: AbortSignal | undefined): AsyncGenerator<ArchiveChange> {
    let reader: ChangeReader;
    try {
      reader = await opening;
    } catch (e) {
      if (signal?.aborted) return;
      throw e;
    }
    let woken = true;
    let resolveWait: (() => void) | undefined;
    const me: Subscriber = {
      wake: () => {
        woken = true;
        resolveWait?.();
      },
    };
    const onAbort = () => me.wake();
    this.subscribers.add(me);
    this.open();
    signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        if (this.closed || signal?.aborted) return;
        woken = false;
        let batch: ArchiveChange[];
        try {
          batch = await reader.poll(signal);
        } catch (e) {
          if (signal?.aborted && isArchiveStorageError(e, 'ABORTED')) return;
          throw e;
        }
        for (const change of batch) {
          if (this.closed || signal?.aborted) return;
          yield change;
        }
        if (!woken) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          await new Promise<void>((resolve) => {
            resolveWait = resolve;
            timer = setTimeout(resolve, pollMs);
            if (woken || this.closed || signal?.aborted) resolve();
          });
          clearTimeout(timer);
          resolveWait = undefined;
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.subscribers.delete(me);
    }
  }

  /** The channel, opened on first use; null where there is none (or after close). */
  private open(): BroadcastChannel | null {
    if (this.channel !== undefined || this.closed) return this.channel ?? null;
    // Node has BroadcastChannel, but only between threads of one process: other processes poll
    // anyway, and a channel per handle would cost every put a message to every open handle.
    const Channel = processId() === undefined ? broadcastChannelConstructor() : undefined;
    if (!Channel) return (this.channel = null);
    try {
      const channel = new Channel(this.settings.channel);
      channel.onmessage = () => {
        for (const s of this.subscribers) s.wake();
      };
      return (this.channel = channel);
    } catch {
      return (this.channel = null);
    }
  }
}

function checkPollMs(pollMs: number | undefined): number {
  if (pollMs === undefined) return DEFAULT_POLL_MS;
  if (typeof pollMs !== 'number' || !Number.isFinite(pollMs) || pollMs < MIN_POLL_MS) {
    throw new InvalidArgumentError(`pollMs must be a number of at least ${MIN_POLL_MS} ms, got ${String(pollMs)}`);
  }
  return pollMs;
}
