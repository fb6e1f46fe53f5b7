/**
 * Vite config of the demo page (`npm start`, `npm run demo:build`, `npm run demo:serve`).
 *
 * The page is built from the SDK's TypeScript sources (not from dist/), so
 * what it shows is always the code in this work tree. Output goes to
 * `dist-demo/` at the repository root; the preview server listens on
 * 127.0.0.1 only (port 4173, or the next free one).
 *
 * Offline and installable through vite-plugin-pwa (Workbox `generateSW`): a
 * web app manifest, and a service worker that precaches every built file
 * (page, scripts, the OPFS worker, styles, icons) so the page loads with no
 * network after the first visit. Updates wait for the person: a new service
 * worker installs beside the old one and the page offers "Reload to update"
 * (see `demo/pwa.ts` and docs/demo.md, "Offline and updates").
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const here = fileURLToPath(new URL('.', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  root: here,
  // Relative asset URLs: the built page works from any sub-path or static host.
  base: './',
  // Only the icons of the manifest; the demo reads no .env files.
  publicDir: fileURLToPath(new URL('./public', import.meta.url)),
  envDir: false,
  clearScreen: false,
  define: {
    // Shown in the footer; a test build overrides it to prove the update flow.
    __DEMO_VERSION__: JSON.stringify(pkg.version),
  },
  build: {
    outDir: fileURLToPath(new URL('../dist-demo', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Unminified: the demo is also something to read (class names stay, so errors name their class).
    minify: false,
    sourcemap: true,
  },
  worker: { format: 'es' },
  plugins: [
    VitePWA({
      // Updates wait for a click: a reload in the middle of an import or a wipe would lose work.
      registerType: 'prompt',
      // demo/pwa.ts registers it through `virtual:pwa-register`.
      injectRegister: false,
      strategies: 'generateSW',
      filename: 'sw.js',
      manifestFilename: 'manifest.webmanifest',
      // The icons are in globPatterns already: listed once.
      includeAssets: [],
      includeManifestIcons: false,
      manifest: {
        id: './',
        name: 'archive-storage demo',
        short_name: 'archive-storage',
        description: 'Content-addressed JSON storage, a CCOS intent graph and verifiable backups, all in this browser, online or not.',
        start_url: './',
        scope: './',
        display: 'standalone',
        background_color: '#f6f7f9',
        theme_color: '#2457c5',
        icons: [
          { src: 'icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: 'icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: 'icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          { src: 'icon.svg', sizes: 'any', type: 'image/svg+xml' },
        ],
      },
      workbox: {
        // Every file the build writes except source maps: the page, its chunks, the OPFS worker, css, icons.
        globPatterns: ['**/*.{html,js,css,svg,png,webmanifest}'],
        // Navigations (also with ?backend=memory) are answered with the precached page.
        navigateFallback: 'index.html',
        cleanupOutdatedCaches: true,
        // The first install takes this tab at once (nothing older runs in it); updates still wait for the click.
        clientsClaim: true,
        skipWaiting: false,
        // The demo's chunks are unminified; allow them in the precache.
        maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
        // No inline source map in the generated worker, built quietly.
        sourcemap: false,
        mode: 'production',
      },
    }),
  ],
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
  preview: { host: '127.0.0.1', port: 4173, strictPort: false },
});
