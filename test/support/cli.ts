/** Runs the BUILT CLI (`node dist/cli.js`) as a subprocess, as users do. `npm test` builds first. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cliBuilt(): boolean {
  return existsSync(CLI);
}

/** Runs `archive-storage ...args`; `input` goes to stdin. */
export function runCli(args: string[], options: { input?: string | Uint8Array; env?: Record<string, string>; cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input: options.input ?? '',
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface CliCall {
  args: string[];
  input?: string | Uint8Array;
  env?: Record<string, string>;
  cwd?: string;
}

/**
 * `runCli` without blocking the test: the same process, environment, stdin and
 * 60 s limit (past it the child is killed and the call rejects, as
 * spawnSync's timeout throws), so independent invocations can run side by side.
 */
export function runCliAsync(args: string[], options: Omit<CliCall, 'args'> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, 60_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) reject(new Error(`archive-storage ${args.join(' ')}: no exit within 60 s\n${stderr}`));
      else resolve({ code: code ?? -1, stdout, stderr });
    });
    // A command that exits before reading its input (a refusal) closes the pipe: not an error of the test.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Runs independent CLI invocations (none may depend on another's effect), at
 * most `concurrency` at once, and resolves their results in the order given.
 * Each one is a node process that mostly waits to start: side by side they
 * take a fraction of the time the same calls take one after another.
 */
export async function runCliAll(calls: CliCall[], concurrency = 4): Promise<CliResult[]> {
  const results: CliResult[] = new Array(calls.length);
  let next = 0;
  const lane = async () => {
    while (next < calls.length) {
      const i = next++;
      const { args, ...options } = calls[i]!;
      results[i] = await runCliAsync(args, options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, calls.length) }, lane));
  return results;
}

export function tempDir(prefix = 'as-cli-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The serde program (tools/ccos-serde) that reads directories as CCOS does,
 * built once per process with cargo (offline, from Debian's crates), or
 * undefined when cargo is not installed. `run(...args)` returns its JSON
 * summary (e.g. `run('read-archive', dir)`).
 */
export const hasCargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' }).status === 0;
let serdeBinary: string | undefined;
export function ccosSerde(): { run: (...args: string[]) => unknown } {
  if (!hasCargo) throw new Error('cargo is not installed: the serde program cannot be built (see tools/ccos-serde/README.md)');
  const tool = fileURLToPath(new URL('../../tools/ccos-serde', import.meta.url));
  if (serdeBinary === undefined) {
    // From inside the tool's folder, so that cargo reads its .cargo/config.toml (Debian's crates, offline).
    const build = spawnSync('cargo', ['build', '--offline', '--quiet'], { cwd: tool, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`cargo build of tools/ccos-serde failed (see its README for the Debian crates it needs):\n${build.stderr}`);
    serdeBinary = join(tool, 'target', 'debug', 'ccos-serde');
  }
  const binary = serdeBinary;
  return {
    run(...args: string[]): unknown {
      const r = spawnSync(binary, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (r.status !== 0) throw new Error(`ccos-serde ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
      return r.stdout ? JSON.parse(r.stdout) : undefined;
    },
  };
}

/**
 * Every file under `dir` (path relative to it) with its bytes as latin1, but
 * those whose relative path starts with one of `skip`: what a refused or
 * read-only command must leave as it was.
 */
export function filesWithBytes(dir: string, skip: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (statSync(p).isDirectory()) walk(p);
      else if (!skip.some((s) => rel.startsWith(s))) out.set(rel, readFileSync(p, 'latin1'));
    }
  };
  walk(dir);
  return out;
}
