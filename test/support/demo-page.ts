/**
 * The demo page as the end-to-end tests build, serve and open it: built with
 * the demo's own Vite config, served by Vite's preview server on 127.0.0.1
 * only, opened in Debian's Chromium (never a downloaded one).
 */
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright';
import { build, preview, type PreviewServer } from 'vite';

const configFile = fileURLToPath(new URL('../../demo/vite.config.ts', import.meta.url));

/** Chromium's flags for a headless test run on a CI machine (no sandbox, no GPU, no background traffic). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Where Chromium is: `$CHROMIUM_PATH`, else Debian's. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Builds the demo into `outDir`; `version` replaces the page's `__DEMO_VERSION__` (a new release, for the service worker). */
export async function buildDemo(outDir: string, version?: string): Promise<void> {
  await build({
    configFile,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, sourcemap: false },
    ...(version ? { define: { __DEMO_VERSION__: JSON.stringify(version) } } : {}),
  });
}

/** Serves the built demo on 127.0.0.1 (`port` 0: any free one); resolves the server and its URL. */
export async function previewDemo(outDir: string, port = 0): Promise<{ server: PreviewServer; url: string }> {
  const server = await preview({ configFile, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port, strictPort: true, open: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url?.startsWith('http://127.0.0.1:')) {
    await server.close();
    throw new Error(`preview server is not on 127.0.0.1: ${String(url)}`);
  }
  return { server, url };
}

/** Headless Chromium with {@link CHROMIUM_ARGS}. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}
