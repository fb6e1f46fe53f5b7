/**
 * Vitest browser commands (run in Node, next to the browser driver) that open a
 * second page of the test page's origin, so browser tests can prove what
 * happens with two tabs: concurrent writers, visibility across tabs, a reload,
 * and a real, small storage quota. The same commands work in every engine:
 * Chromium through Playwright's page, Firefox and WebKit through the `peers`
 * driver their providers put in the command context
 * (`test/support/engines/`).
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
import type { Page } from 'playwright';
import type { BrowserCommand, BrowserCommandContext } from 'vitest/node';
import { playwrightPeers } from './support/engines/chromium.js';
import type { PeerDriver, PeerOptions, PeerPage } from './support/engines/peers.js';

export type { PeerOptions } from './support/engines/peers.js';

const peers = new Map<string, PeerPage>();
let nextPeer = 0;

function driverOf(ctx: BrowserCommandContext): PeerDriver {
  const own = (ctx as unknown as { peers?: PeerDriver }).peers;
  return own ?? playwrightPeers((ctx as unknown as { page: Page }).page);
}

function peer(id: string): PeerPage {
  const entry = peers.get(id);
  if (!entry) throw new Error(`no peer page ${id} (open one with peerOpen)`);
  return entry;
}

/**
 * Opens a second page of the test page's origin (by default next to the test
 * page: same storage) and resolves its id. With `isolated`, in a browser of its
 * own with an empty on-disk profile; with `quotaBytes` too, that browser's
 * origin quota is that small (each engine sets it its own way, see PeerOptions).
 */
const peerOpen: BrowserCommand<[options?: PeerOptions]> = async (ctx, options) => {
  if (options?.quotaBytes !== undefined && !options.isolated) throw new Error('peerOpen: quotaBytes changes the whole origin, so it needs { isolated: true }');
  const driver = driverOf(ctx);
  const page = await driver.open(`${driver.origin()}/test/browser-peer.html`, options);
  const id = `peer-${++nextPeer}`;
  peers.set(id, page);
  return id;
};

/**
 * Runs `source` (the text of an async function taking the peer's module table
 * and `arg`) in the peer page; resolves its result as JSON (undefined → null).
 */
const peerRun: BrowserCommand<[id: string, source: string, arg?: unknown]> = (_ctx, id, source, arg) => peer(id).run(source, arg);

/** Reloads the peer page (a real navigation: every in-memory state is gone). */
const peerReload: BrowserCommand<[id: string]> = (_ctx, id) => peer(id).reload();

/** Closes the peer page (like closing a tab), and its own browser if it had one. */
const peerClose: BrowserCommand<[id: string]> = async (_ctx, id) => {
  const entry = peers.get(id);
  peers.delete(id);
  await entry?.close();
};

/** Every browser command the storage tests use; spread into the browser project's `commands`. */
export const browserPeerCommands = { peerOpen, peerRun, peerReload, peerClose };

declare module 'vitest/browser' {
  interface BrowserCommands {
    peerOpen: (options?: PeerOptions) => Promise<string>;
    peerRun: <T = unknown>(id: string, source: string, arg?: unknown) => Promise<T>;
    peerReload: (id: string) => Promise<void>;
    peerClose: (id: string) => Promise<void>;
  }
}
