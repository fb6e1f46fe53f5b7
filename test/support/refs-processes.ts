/** Runs test/support/refs-child.ts processes and collects what they report. */
import { spawn } from 'node:child_process';
import { buildChildScript } from './archive-child.js';

export interface ChildRun {
  /** The `ok …` lines, without `ok `. */
  lines: string[];
  /** True when the test killed it (SIGKILL). */
  killed: boolean;
}

/**
 * Runs `processes` children of `mode` on `dir` at once; resolves their
 * reports (rejects when one fails). `killFirstAfter`: SIGKILL the first child
 * once it has reported that many changes (in the middle of its next one).
 */
export async function raceChildren(dir: string, mode: string, processes: number, count: number, killFirstAfter?: number): Promise<ChildRun[]> {
  const script = await buildChildScript('refs-child');
  return Promise.all(
    Array.from({ length: processes }, (_, p) => {
      const child = spawn(process.execPath, [script, dir, mode, `p${p}`, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
      const lines: string[] = [];
      let buffered = '';
      let stderr = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        buffered += chunk;
        const parts = buffered.split('\n');
        buffered = parts.pop()!;
        for (const line of parts) if (line.startsWith('ok ')) lines.push(line.slice(3));
        if (p === 0 && killFirstAfter !== undefined && lines.length >= killFirstAfter) child.kill('SIGKILL');
      });
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      return new Promise<ChildRun>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (code, signal) =>
          code === 0 || signal === 'SIGKILL' ? resolve({ lines, killed: signal === 'SIGKILL' }) : reject(new Error(`refs-child ${mode} p${p} exited ${code}: ${stderr}`)),
        );
      });
    }),
  );
}
