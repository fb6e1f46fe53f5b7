/// <reference types="vite/client" />
/// <reference types="vite-plugin-pwa/vanillajs" />

/** The demo's version (package.json), set by demo/vite.config.ts. */
declare const __DEMO_VERSION__: string;
