/**
 * Engine-neutral "second page" driver that each custom provider puts into the
 * browser commands' context (`ctx.peers`), so test/browser-commands.ts works the
 * same in Chromium (Playwright), Firefox (puppeteer-core over BiDi) and WebKitGTK
 * (our host). A peer page is a real second tab of the same browser profile (same
 * storage), or with `isolated` a second browser process with its own empty profile.
 */
export interface PeerPage {
  /** Runs `source` (text of an async function `(peerModules, arg) => result`) in the page; resolves its JSON result. */
  run(source: string, arg?: unknown): Promise<unknown>;
  reload(): Promise<void>;
  close(): Promise<void>;
}

/** Options of a peer page. */
export interface PeerOptions {
  /**
   * In a browser of its own with an empty on-disk profile (its own storage),
   * for tests that change origin-wide state without disturbing the test files
   * running next to them.
   */
  isolated?: boolean;
  /**
   * With `isolated`: the origin's storage quota, in bytes, so IndexedDB and
   * OPFS throw their real QuotaExceededError. Chromium sets it over CDP
   * (`Storage.overrideQuotaForOrigin`); Firefox and WebKit only at launch
   * (pref `dom.quotaManager.temporaryStorage.fixedLimit`; the data manager's
   * origin-storage-ratio), hence the own browser.
   */
  quotaBytes?: number;
}

export interface PeerDriver {
  /** Origin of the test page (the vite server). */
  origin(): string;
  open(url: string, options?: PeerOptions): Promise<PeerPage>;
}

/** The expression every engine evaluates in a peer page. */
export function peerCallBody(source: string, arg: unknown): string {
  return `const fn = (0, eval)('(' + ${JSON.stringify(source)} + ')');
return JSON.parse(JSON.stringify((await fn(globalThis.peerModules, ${JSON.stringify(arg ?? null)})) ?? null));`;
}

/** A mocker that refuses vi.mock: its presence lets vitest run this provider's pool in parallel with the others. */
export const refusingMocker = {
  register: async () => {
    throw new Error('vi.mock is not supported by this browser provider');
  },
  delete: async () => {},
  clear: async () => {},
};
