/** Runs the BUILT CLI (`node dist/cli.js`) as a subprocess, as users do. `npm test` builds first. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
