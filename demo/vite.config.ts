/**
 * Vite config of the demo page (`npm start`, `npm run demo:build`, `npm run demo:serve`).
 *
 * The page is built from the SDK's TypeScript sources (not from dist/), so
 * what it shows is always the code in this work tree. Output goes to
 * `dist-demo/` at the repository root; the preview server listens on
 * 127.0.0.1 only (port 4173, or the next free one).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  // Relative asset URLs: the built page works from any sub-path or static host.
  base: './',
  // The demo has no public/ folder and reads no .env files.
  publicDir: false,
  envDir: false,
  clearScreen: false,
  build: {
    outDir: fileURLToPath(new URL('../dist-demo', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Unminified: the demo is also something to read (class names stay, so errors name their class).
    minify: false,
    sourcemap: true,
  },
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
  preview: { host: '127.0.0.1', port: 4173, strictPort: false },
});
