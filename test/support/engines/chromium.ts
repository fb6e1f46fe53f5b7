/**
 * Chromium (Debian's `chromium`, driven by Playwright; its launch arguments in
 * launch.js): the isolated peers, and the peer driver built from Playwright's
 * page (the Playwright provider has no `ctx.peers`).
 *
 * @module
 */
import type { BrowserContext, Page } from 'playwright';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_ARGS, chromiumPath } from './launch.js';
import { peerCallBody, type PeerDriver, type PeerPage } from './peers.js';

export { CHROMIUM_ARGS, chromiumPath } from './launch.js';

/** Waits until `test/browser-peer.html` (or a bench page) says it is ready. */
async function ready(page: Page): Promise<void> {
  await page.waitForFunction(() => (globalThis as { peerReady?: boolean }).peerReady === true, undefined, { timeout: 30_000 });
}

/** A Chromium of its own with an on-disk profile (its own, empty storage), removed on close. */
export async function launchIsolatedChromium(): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }> {
  const { chromium } = await import('playwright');
  const profile = mkdtempSync(join(tmpdir(), 'archive-storage-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The peer driver over the test's Playwright page. */
export function playwrightPeers(testPage: Page): PeerDriver {
  return {
    origin: () => new URL(testPage.url()).origin,
    async open(url, options) {
      let page: Page;
      let close: () => Promise<void>;
      if (options?.isolated) {
        // A second browser: a quota override takes effect only in a browser's default context.
        const own = await launchIsolatedChromium();
        page = own.page;
        close = own.close;
        if (options.quotaBytes) {
          // Chromium applies an override only to an origin whose storage is not in use yet, and it lives as long
          // as the DevTools session that set it (kept until close): set it on the page before any storage call.
          await page.goto(url);
          const cdp = await own.context.newCDPSession(page);
          await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(url).origin, quotaSize: options.quotaBytes });
        }
      } else {
        page = await testPage.context().newPage();
        close = () => page.close();
      }
      await page.goto(url);
      await ready(page);
      const peer: PeerPage = {
        run: (source, arg) => page.evaluate(`(async () => { ${peerCallBody(source, arg)} })()`),
        reload: async () => {
          await page.reload();
          await ready(page);
        },
        close,
      };
      return peer;
    },
  };
}
