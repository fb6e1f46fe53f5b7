/**
 * Vitest 4.1 browser provider: Debian's firefox-esr, driven over WebDriver BiDi
 * by puppeteer-core 24 (no browser download, no geckodriver; launch.js).
 *
 * @module
 */
import { defineBrowserProvider } from '@vitest/browser';
import type { BrowserProvider, TestProject } from 'vitest/node';
import type { Browser, Page } from 'puppeteer-core';
import { launchFirefox } from './launch.js';
import { peerCallBody, refusingMocker, type PeerDriver, type PeerPage } from './peers.js';

export interface FirefoxProviderOptions {
  executablePath?: string;
  /** Extra about:config prefs. */
  prefs?: Record<string, unknown>;
  /** Let vitest run this engine's pool next to the other engines' (tests must not use vi.mock). */
  parallel?: boolean;
}

const ready = (page: Page) => page.waitForFunction('globalThis.peerReady === true', { timeout: 30_000 });

function peerOf(page: Page, onClose: () => Promise<void>): PeerPage {
  return {
    run: (source, arg) => page.evaluate(`(async () => { ${peerCallBody(source, arg)} })()`),
    reload: async () => {
      await page.reload();
      await ready(page);
    },
    close: onClose,
  };
}

class FirefoxProvider implements BrowserProvider {
  name = 'firefox-bidi';
  supportsParallelism = true;
  mocker?: typeof refusingMocker;
  private main?: ReturnType<typeof launchFirefox>;
  private pages = new Map<string, Page>();
  private extra = new Set<() => Promise<void>>();

  constructor(
    private project: TestProject,
    private options: FirefoxProviderOptions,
  ) {
    if (options.parallel) this.mocker = refusingMocker;
  }

  private launch(headless: boolean, prefs: Record<string, unknown> = {}) {
    return launchFirefox({ ...(this.options.executablePath ? { executablePath: this.options.executablePath } : {}), headless, prefs: { ...this.options.prefs, ...prefs } });
  }

  private browser(): Promise<Browser> {
    this.main ??= this.launch(this.project.config.browser.headless);
    return this.main.then((m) => m.browser);
  }

  async openPage(sessionId: string, url: string): Promise<void> {
    const browser = await this.browser();
    await this.pages.get(sessionId)?.close();
    const page = await browser.newPage();
    this.pages.set(sessionId, page);
    await page.goto(url, { timeout: 0 });
  }

  getCommandsContext(sessionId: string): Record<string, unknown> {
    const page = this.pages.get(sessionId);
    const peers: PeerDriver = {
      origin: () => new URL(page!.url()).origin,
      open: async (url, options) => {
        let peerPage: Page;
        let close: () => Promise<void>;
        if (options?.isolated && options.quotaBytes) {
          // A real, small quota: Firefox's temporary-storage limit is a launch-time pref (KiB), so a second Firefox.
          const own = await this.launch(true, { 'dom.quotaManager.temporaryStorage.fixedLimit': Math.ceil(options.quotaBytes / 1024) });
          peerPage = await own.browser.newPage();
          close = own.close;
        } else if (options?.isolated) {
          // Own, empty storage without a second process: a BiDi user context (Firefox container).
          const context = await (await this.browser()).createBrowserContext();
          peerPage = await context.newPage();
          close = () => context.close();
        } else {
          peerPage = await (await this.browser()).newPage();
          close = () => peerPage.close();
        }
        const tracked = async () => {
          this.extra.delete(tracked);
          await close();
        };
        this.extra.add(tracked);
        await peerPage.goto(url);
        await ready(peerPage);
        return peerOf(peerPage, tracked);
      },
    };
    return { page, peers };
  }

  async close(): Promise<void> {
    await Promise.all([...this.extra].map((c) => c()));
    const main = this.main;
    this.main = undefined;
    this.pages.clear();
    if (main) await (await main).close();
  }
}

/** The Firefox provider for a vitest browser instance `{ browser: 'firefox', provider: firefox() }`. */
export function firefox(options: FirefoxProviderOptions = {}) {
  return defineBrowserProvider({
    name: 'firefox-bidi',
    supportedBrowser: ['firefox'],
    options,
    providerFactory: (project) => new FirefoxProvider(project, options),
  });
}
