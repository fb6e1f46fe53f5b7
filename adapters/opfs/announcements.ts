/**
 * How the writers of one OPFS directory tell each other what changed: each
 * commit announces the segment it grew, each compaction that segments went
 * away, on a BroadcastChannel. A reader then scans only what was announced
 * before answering, instead of listing the directory for every read.
 *
 * @module
 */
import { broadcastChannelConstructor } from '../../src/platform.js';

type Message = { type?: string; segment?: string; end?: number; writer?: string };

/** One writer's end of the directory's channel (a no-op where there is no BroadcastChannel). */
export class Announcements {
  private readonly channel: BroadcastChannel | undefined;
  /** Segments other writers said they grew since the last {@link take}. */
  private readonly grown = new Set<string>();
  /** Another writer compacted since the last {@link take}: every segment may be gone. */
  private compactedElsewhere = false;

  constructor(
    root: string,
    private readonly writer: string,
  ) {
    const BC = broadcastChannelConstructor();
    if (!BC) return;
    this.channel = new BC(`archive-storage:opfs:${root}`);
    this.channel.onmessage = (event: MessageEvent) => {
      const msg = event.data as Message | null;
      if (msg?.type === 'commit' && msg.writer !== this.writer && typeof msg.segment === 'string' && typeof msg.end === 'number') {
        this.grown.add(msg.segment);
      } else if (msg?.type === 'compacted') {
        this.compactedElsewhere = true;
      }
    };
  }

  /** Says that `segment` now holds committed batches up to `end`. */
  commit(segment: string, end: number): void {
    this.channel?.postMessage({ type: 'commit', writer: this.writer, segment, end });
  }

  /** Says that a compaction removed segments. */
  compacted(): void {
    this.channel?.postMessage({ type: 'compacted', writer: this.writer });
  }

  /** What was announced since the last call: `'rebuild'` after a compaction elsewhere, else the grown segments' names. */
  take(): 'rebuild' | string[] {
    const names = [...this.grown];
    this.grown.clear();
    if (this.compactedElsewhere) {
      this.compactedElsewhere = false;
      return 'rebuild';
    }
    return names;
  }

  /** Stops listening. */
  close(): void {
    this.channel?.close();
  }
}
