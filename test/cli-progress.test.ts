/** Progress is drawn on stderr only when stderr is a terminal, and never with --no-progress or --quiet. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { progressBar } from '../cli/progress.js';
import { CLI, runCli, tempDir } from './support/cli.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream, writes };
}

describe('progressBar', () => {
  it('draws on a TTY and clears its line when done', () => {
    const { stream, writes } = fakeStream(true);
    const bar = progressBar('verify', true, stream);
    bar.update({ done: 5, total: 10 });
    bar.update({ done: 10, total: 10 });
    bar.done();
    expect(writes[0]).toMatch(/^\rverify \[#{14}-{14}\] 5\/10 50%/);
    expect(writes.at(-2)).toContain('10/10 100%');
    expect(writes.at(-1)).toBe('\r\x1b[K');
  });
  it('draws nothing when stderr is not a TTY or progress is off', () => {
    for (const [tty, enabled] of [[false, true], [true, false]] as const) {
      const { stream, writes } = fakeStream(tty);
      const bar = progressBar('x', enabled, stream);
      bar.update({ done: 1, total: 2 });
      bar.done();
      expect(writes).toEqual([]);
    }
  });
});

const t = tempDir();
afterAll(() => t.cleanup());

describe('progress in a real terminal', () => {
  const store = join(t.dir, 's');
  const lines = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ i })).join('\n');

  it('is absent from piped stderr', () => {
    const r = runCli(['--store', store, 'put', '--ndjson'], { input: lines });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n').length).toBe(1000);
  });

  // `script` gives the CLI a pseudo-terminal, as an interactive shell would.
  const inTerminal = (args: string) =>
    spawnSync('script', ['-qec', `${process.execPath} ${CLI} --store ${store} ${args} 2>&1 >/dev/null`, '/dev/null'], { encoding: 'utf8' });
  const haveScript = spawnSync('script', ['--version']).status === 0;

  it.runIf(haveScript)('is drawn on a terminal for verify, and not with --no-progress', () => {
    const shown = inTerminal('verify');
    expect(shown.status).toBe(0);
    expect(shown.stdout).toMatch(/verify \[[#-]+\] \d+\/1000/);
    const hidden = inTerminal('--no-progress verify');
    expect(hidden.stdout).not.toContain('verify [');
    const quiet = inTerminal('--quiet verify');
    expect(quiet.stdout).not.toContain('verify [');
  });
});
