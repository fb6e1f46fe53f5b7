/**
 * Vitest browser commands (run in Node, next to Playwright) that open a second
 * page of the same origin as the test page, so browser tests can prove what
 * happens with two tabs: concurrent writers, visibility across tabs, a reload.
 *
 * The peer page is `test/browser-peer.html`, served by the same Vite server as
 * the tests, so it imports the adapters from source exactly like a test does.
 * In a test:
 *
 * ```ts
 * import { commands } from 'vitest/browser';
 * const peer = await commands.peerOpen();
 * await commands.peerRun(peer, `async ({ idb }) => { ... }`);
 * ```
 */
import type { CDPSession, Page } from 'playwright';
import type { BrowserCommand, BrowserCommandContext } from 'vitest/node';

interface Peer {
  page: Page;
  session?: CDPSession | undefined;
  isolated: boolean;
  cleanup: () => Promise<void>;
}

const peers = new Map<string, Peer>();
let nextPeer = 0;

function pageOf(ctx: BrowserCommandContext): Page {
  return (ctx as unknown as { page: Page }).page;
}

function peerEntry(id: string): Peer {
  const entry = peers.get(id);
  if (!entry) throw new Error(`no peer page ${id} (open one with peerOpen)`);
  return entry;
}

const peer = (id: string): Page => peerEntry(id).page;

/** Options of `peerOpen`. */
export interface PeerOptions {
  /**
   * Open the page in a separate Chromium with its own on-disk profile (its own,
   * empty storage) instead of next to the test page: for tests that change
   * origin-wide state, such as the quota, without disturbing test files running
   * in parallel. (A quota override only takes effect in a browser's default
   * context, so this is a second browser process, not a second context.)
   */
  isolated?: boolean;
}

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Opens a second page of the test page's origin (by default in the same browser context: same storage). Resolves its id. */
const peerOpen: BrowserCommand<[options?: PeerOptions]> = async (ctx, options) => {
  const origin = new URL(pageOf(ctx).url()).origin;
  let page: Page;
  let cleanup: () => Promise<void>;
  if (options?.isolated) {
    const { chromium } = await import('playwright');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const profile = mkdtempSync(join(tmpdir(), 'archive-storage-peer-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      headless: true,
      args: LAUNCH_ARGS,
    });
    page = context.pages()[0] ?? (await context.newPage());
    cleanup = async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    };
  } else {
    page = await pageOf(ctx).context().newPage();
    cleanup = () => page.close();
  }
  await page.goto(`${origin}/test/browser-peer.html`);
  await page.waitForFunction(() => (globalThis as { peerReady?: boolean }).peerReady === true, undefined, { timeout: 30_000 });
  const id = `peer-${++nextPeer}`;
  peers.set(id, { page, isolated: options?.isolated === true, cleanup });
  return id;
};

/**
 * Sets (bytes) or resets (undefined) the storage quota of the peer page's origin
 * through the DevTools protocol: a real, tiny quota makes IndexedDB and OPFS
 * throw their real QuotaExceededError. Use it on an isolated peer only.
 */
const peerSetQuota: BrowserCommand<[id: string, quotaSize?: number]> = async (_ctx, id, quotaSize) => {
  const entry = peerEntry(id);
  if (!entry.isolated) throw new Error('peerSetQuota changes the whole origin: use it on a peer opened with { isolated: true }');
  // The override lives as long as the DevTools session that set it: keep the session until the reset.
  entry.session ??= await entry.page.context().newCDPSession(entry.page);
  const origin = new URL(entry.page.url()).origin;
  await entry.session.send('Storage.overrideQuotaForOrigin', quotaSize === undefined ? { origin } : { origin, quotaSize });
  if (quotaSize === undefined) {
    await entry.session.detach();
    entry.session = undefined;
  }
};

/**
 * Runs `source` (the text of an async function taking the peer's module table
 * and `arg`) in the peer page; resolves its JSON-serialisable result.
 */
const peerRun: BrowserCommand<[id: string, source: string, arg?: unknown]> = async (_ctx, id, source, arg) => {
  return peer(id).evaluate(
    async ([src, a]) => {
      const fn = (0, eval)(`(${src as string})`) as (mods: unknown, arg: unknown) => Promise<unknown>;
      return fn((globalThis as { peerModules?: unknown }).peerModules, a);
    },
    [source, arg] as const,
  );
};

/** Reloads the peer page (a real navigation: every in-memory state is gone). */
const peerReload: BrowserCommand<[id: string]> = async (_ctx, id) => {
  const page = peer(id);
  await page.reload();
  await page.waitForFunction(() => (globalThis as { peerReady?: boolean }).peerReady === true, undefined, { timeout: 30_000 });
};

/** Closes the peer page (like closing a tab). */
const peerClose: BrowserCommand<[id: string]> = async (_ctx, id) => {
  const entry = peers.get(id);
  peers.delete(id);
  await entry?.cleanup();
};

/** Every browser command the storage tests use; spread into the browser project's `commands`. */
export const browserPeerCommands = { peerOpen, peerRun, peerReload, peerSetQuota, peerClose };

declare module 'vitest/browser' {
  interface BrowserCommands {
    peerOpen: (options?: PeerOptions) => Promise<string>;
    peerSetQuota: (id: string, quotaSize?: number) => Promise<void>;
    peerRun: <T = unknown>(id: string, source: string, arg?: unknown) => Promise<T>;
    peerReload: (id: string) => Promise<void>;
    peerClose: (id: string) => Promise<void>;
  }
}
