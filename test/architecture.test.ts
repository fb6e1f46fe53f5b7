/**
 * The import rules of the house (docs/architecture.md), held by
 * dependency-cruiser with the rule set in `.dependency-cruiser.cjs`:
 *
 * - src/ imports only src/ and its declared dependencies, never node:*;
 * - adapters/ import only src/ and their own adapter (node:* only in the
 *   Node-only ones), node/ never cli/, cli/ never test code;
 * - no import circle, type-only imports included.
 *
 * The first test cruises the real tree and expects no violation; the second
 * cruises a fixture tree of deliberate mistakes with the same rules and expects
 * each mistake, and only those, to be reported.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IForbiddenRuleType, type IViolation } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/architecture/bad', import.meta.url));
const tsconfig = `${root}tsconfig.json`;

interface Rules {
  forbidden: IForbiddenRuleType[];
  options: Record<string, unknown>;
}
const rules = createRequire(import.meta.url)('../.dependency-cruiser.cjs') as Rules;

/** The folders the rules are about, cruised from `baseDir` (paths in the result are relative to it). */
const LAYERS = ['src', 'adapters', 'node', 'cli'];

async function cruiseTree(baseDir: string): Promise<ICruiseResult> {
  const { output } = await cruise(
    LAYERS,
    {
      ...rules.options,
      tsConfig: { fileName: tsconfig },
      baseDir,
      validate: true,
      ruleSet: { forbidden: rules.forbidden },
      outputType: 'json',
    },
    {},
    { tsConfig: extractTSConfig(tsconfig) },
  );
  return (typeof output === 'string' ? JSON.parse(output) : output) as ICruiseResult;
}

/** One line per violation: `rule: from → to [dependency types]`, a circle spelled out in full. */
function describeViolation(v: IViolation): string {
  const types = v.dependencyTypes?.length ? ` [${v.dependencyTypes.join(', ')}]` : '';
  const path = v.cycle?.length ? [v.from, ...v.cycle.map((step) => step.name)].join(' → ') : `${v.from} → ${v.to}`;
  return `${v.rule.name}: ${path}${types}${v.unresolvedTo && v.unresolvedTo !== v.to ? ` (import '${v.unresolvedTo}')` : ''}`;
}

function report(result: ICruiseResult): string[] {
  return result.summary.violations.map(describeViolation).sort();
}

/** A violation as the fixture test expects it: the rule and both ends (for a circle: `to` is the next module). */
const brief = (v: IViolation) => `${v.rule.name}: ${v.from} → ${v.to}`;

describe('architecture: the import rules', () => {
  it('the real tree breaks none of them (src/ adapters/ node/ cli/)', async () => {
    const result = await cruiseTree(root);

    // The check must have looked at the tree, not at nothing.
    const sources = result.modules.map((m) => m.source);
    for (const entry of ['src/index.ts', 'src/platform.ts', 'adapters/memory.ts', 'node/bundle-file.ts', 'cli/main.ts']) {
      expect(sources, `cruised ${entry}`).toContain(entry);
    }
    const dependencies = result.modules.flatMap((m) => m.dependencies);
    expect(dependencies.some((d) => d.dependencyTypes.includes('type-only')), 'type-only imports are counted').toBe(true);
    expect(dependencies.some((d) => d.resolved.startsWith('src/') && d.module.endsWith('.js')), '.js specifiers resolve to .ts').toBe(true);

    const violations = report(result);
    const broken = [...new Set(result.summary.violations.map((v) => v.rule.name))];
    const why = broken.map((name) => `${name}: ${rules.forbidden.find((r) => r.name === name)?.comment ?? ''}`);
    expect(
      violations,
      `${violations.length} import rule violation(s), from → to:\n  ${violations.join('\n  ')}\n` +
        `rules (.dependency-cruiser.cjs, docs/architecture.md):\n  ${why.join('\n  ')}\n`,
    ).toEqual([]);
  });

  it('fails on deliberately wrong imports (test/fixtures/architecture/bad), with the same rules', async () => {
    const result = await cruiseTree(fixture);
    const found = result.summary.violations.map(brief).sort();

    const expected = [
      // src/: out of the core
      'core-no-node-builtins: src/core.ts → fs',
      'core-imports-only-core: src/core.ts → adapters/x.ts',
      'core-imports-only-core: src/core.ts → test/helper.ts', // a dynamic import() counts
      // src/: undeclared packages, type-only imports included
      expect.stringMatching(/^core-only-declared-deps: src\/core\.ts → (.*\/)?node_modules\/fast-check\//),
      expect.stringMatching(/^core-only-declared-deps: src\/core\.ts → (.*\/)?node_modules\/vitest\//),
      expect.stringMatching(/^core-testing-only-declared-deps: src\/testing\/suite\.ts → (.*\/)?node_modules\/fast-check\//),
      // adapters/
      'adapter-imports-only-core: adapters/a.ts → cli/main.ts',
      'adapter-not-to-other-adapter: adapters/a.ts → adapters/x.ts',
      'adapter-not-to-other-adapter: adapters/opfs/index.ts → adapters/s3/index.ts',
      'browser-adapter-no-node-builtins: adapters/opfs/index.ts → path',
      'not-to-unresolvable: adapters/a.ts → ./missing.js',
      // node/ and cli/
      'node-imports-only-below: node/helper.ts → cli/main.ts',
      'cli-not-to-tests: cli/main.ts → test/helper.ts',
      // a circle of type-only imports (reported once, from the first module of the circle)
      'no-circular: src/cycle-a.ts → src/cycle-b.ts',
    ];
    expect(found, `reported:\n  ${report(result).join('\n  ')}\n`).toEqual(expect.arrayContaining(expected));
    // ...and nothing else: every allowed import in the fixture (fflate from src/, vitest from src/testing/,
    // an adapter's own folder, node:* in node/ and cli/) stays allowed.
    expect(found).toHaveLength(expected.length);

    // Every rule of the set is shown to bite: a new rule comes with its mistake in the fixture.
    const bitten = new Set(result.summary.violations.map((v) => v.rule.name));
    expect(rules.forbidden.map((r) => r.name).filter((name) => !bitten.has(name ?? '')), 'rules the fixture never breaks').toEqual([]);

    // The readable report names the circle in full and the rule of each violation.
    expect(report(result)).toContainEqual(expect.stringMatching(/^no-circular: src\/cycle-a\.ts → src\/cycle-b\.ts → src\/cycle-a\.ts \[.*type-only/));
  });
});
