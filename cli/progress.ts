/**
 * A progress bar on stderr, drawn only when stderr is a TTY and neither
 * `--no-progress` nor `--quiet` is given. Redraws at most ten times a second.
 */
import type { Progress } from '../src/archive/types.js';

export interface ProgressBar {
  update(p: Progress): void;
  done(): void;
}

const NONE: ProgressBar = { update() {}, done() {} };

export function progressBar(label: string, enabled: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  if (!enabled || !stream.isTTY) return NONE;
  let last = 0;
  let drawn = false;
  const draw = (p: Progress) => {
    const width = 28;
    const total = p.total && p.total > 0 ? p.total : undefined;
    const ratio = total ? Math.min(1, p.done / total) : 0;
    const bar = total ? '#'.repeat(Math.round(ratio * width)).padEnd(width, '-') : '~'.repeat(width);
    const count = total ? `${p.done}/${total} ${(ratio * 100).toFixed(0)}%` : `${p.done}`;
    stream.write(`\r${label} [${bar}] ${count}\x1b[K`);
    drawn = true;
  };
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && !(p.total !== undefined && p.done >= p.total)) return;
      last = now;
      draw(p);
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
