/**
 * Builds a TypeScript child-process script (and the sources it imports) into
 * one runnable ES module, so crash and multi-process tests exercise the
 * current sources rather than whatever `dist/` holds. Output goes under
 * node_modules/.cache, from where the script's few external packages resolve.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));
const built = new Map<string, Promise<string>>();

/** Bundles `test/support/<name>.ts`; resolves the path of the runnable `.mjs`. */
export function buildChildScript(name: string): Promise<string> {
  let p = built.get(name);
  if (!p) {
    p = (async () => {
      const outDir = join(root, 'node_modules', '.cache', 'archive-storage-test', `${name}-${process.pid}`);
      await mkdir(outDir, { recursive: true });
      await build({
        configFile: false,
        root,
        logLevel: 'silent',
        build: {
          outDir,
          emptyOutDir: true,
          target: 'node20',
          minify: false,
          ssr: join(root, 'test', 'support', `${name}.ts`),
          rollupOptions: {
            external: (id: string) => id.startsWith('node:') || builtinModules.includes(id),
            output: { entryFileNames: `${name}.mjs`, format: 'es' },
          },
        },
      });
      const file = join(outDir, `${name}.mjs`);
      if (!existsSync(file)) throw new Error(`building ${name} produced no ${file}`);
      return file;
    })();
    built.set(name, p);
  }
  return p;
}

/** Removes what {@link buildChildScript} built in this process. */
export async function removeChildScripts(): Promise<void> {
  const dirs = [...built.keys()].map((name) => join(root, 'node_modules', '.cache', 'archive-storage-test', `${name}-${process.pid}`));
  built.clear();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}
