/** The README's "Command line" section documents every error code the CLI can print, and the real formats. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI_ERROR_CODES } from '../cli/errors.js';
import { globalHelp } from '../cli/help.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## Command line'), readme.indexOf('## Measured'));

/** The members of the SDK's `ErrorCode` and `HostileBundleCode` unions, read from their source. */
function sdkCodes(): string[] {
  const source = readFileSync(new URL('../src/errors.ts', import.meta.url), 'utf8');
  const unions = [...source.matchAll(/export type (?:ErrorCode|HostileBundleCode) =([^;]+);/g)].map((m) => m[1]!);
  return unions.flatMap((u) => [...u.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]!));
}

describe('README: Command line', () => {
  it('lists every code the CLI can print, in its table of codes', () => {
    const codes = [...CLI_ERROR_CODES, ...sdkCodes(), 'INTERNAL'];
    expect(codes.length).toBeGreaterThan(30);
    const table = section.slice(section.indexOf('| code | exit | when |'));
    for (const code of codes) expect(table, code).toContain(`\`${code}\``);
  });

  it('gives the real intent id format, the reproducible export and every exit code', () => {
    expect(section).toContain('intent-<16 hex digits>');
    expect(section).not.toMatch(/uuid|intent-[0-9a-f]{8}-/);
    expect(section).toContain('SOURCE_DATE_EPOCH');
    expect(section).toContain('--created-at');
    for (const code of ['0', '1', '2', '3', '4', '130']) expect(section).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
    expect(globalHelp()).toMatch(/^ {2}130 /m);
  });
});
