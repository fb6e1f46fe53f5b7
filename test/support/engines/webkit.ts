/**
 * Vitest 4.1 browser provider: WebKitGTK (Debian's libwebkit2gtk-4.1) through a
 * small PyGObject host (webkit-host.py) with an on-disk profile and the storage
 * features Safari ships turned on, under its own Xvfb. No WebDriver: the host
 * speaks JSON lines on stdin/stdout (open, goto, call, reload, close, quit).
 */
import { defineBrowserProvider } from '@vitest/browser';
import type { BrowserProvider, TestProject } from 'vitest/node';
import type { ChildProcess } from 'node:child_process';
import { startXvfb, WebKitHost as Host } from './launch.js';
import { peerCallBody, refusingMocker, type PeerDriver, type PeerPage } from './peers.js';

export interface WebKitProviderOptions {
  python?: string;
  hostScript?: string;
  /** Also enable every feature WebKit marks stable/mature (Safari's shipped set), not only the storage ones. */
  allStableFeatures?: boolean;
  parallel?: boolean;
}

class WebKitProvider implements BrowserProvider {
  name = 'webkitgtk-host';
  supportsParallelism = true;
  mocker?: typeof refusingMocker;
  private xvfb?: Promise<{ display: string; proc: ChildProcess }>;
  private main?: Promise<Host>;
  private views = new Map<string, { view: number; url: string }>();
  private extra = new Set<() => Promise<void>>();

  constructor(private project: TestProject, private options: WebKitProviderOptions) {
    if (options.parallel) this.mocker = refusingMocker;
  }

  private display() {
    if (!this.project.config.browser.headless && process.env.DISPLAY) return Promise.resolve(process.env.DISPLAY);
    this.xvfb ??= startXvfb();
    return this.xvfb.then((x) => x.display);
  }

  private async newHost(extraArgs: string[] = []) {
    const args = [...extraArgs, ...(this.options.allStableFeatures ? ['--all-stable'] : [])];
    const host = new Host({ display: await this.display(), args, ...(this.options.python ? { python: this.options.python } : {}), ...(this.options.hostScript ? { hostScript: this.options.hostScript } : {}) });
    await host.ready;
    return host;
  }

  private host(): Promise<Host> {
    this.main ??= this.newHost();
    return this.main;
  }

  async openPage(sessionId: string, url: string): Promise<void> {
    const host = await this.host();
    const old = this.views.get(sessionId);
    if (old) await host.send('close', { view: old.view });
    const view: number = await host.send('open', {});
    this.views.set(sessionId, { view, url });
    await host.send('goto', { view, url });
  }

  getCommandsContext(sessionId: string): Record<string, unknown> {
    const entry = this.views.get(sessionId);
    const peers: PeerDriver = {
      origin: () => new URL(entry!.url).origin,
      open: async (url, options) => {
        let host: Host;
        let closeHost = async () => {};
        if (options?.isolated) {
          // WebKit's quota is a share of the disk volume (origin-storage-ratio), set when the data manager is made.
          const args = options.quotaBytes ? ['--quota-bytes', String(options.quotaBytes)] : [];
          host = await this.newHost(args);
          closeHost = () => host.close();
        } else host = await this.host();
        const view: number = await host.send('open', { url });
        await host.waitFor(view, READY);
        const close = async () => {
          this.extra.delete(close);
          await host.send('close', { view }).catch(() => {});
          await closeHost();
        };
        this.extra.add(close);
        const peer: PeerPage = {
          run: (source, arg) => host.send('call', { view, body: peerCallBody(source, arg) }),
          reload: async () => {
            await host.send('reload', { view });
            await host.waitFor(view, READY);
          },
          close,
        };
        return peer;
      },
    };
    return { peers };
  }

  async close(): Promise<void> {
    await Promise.all([...this.extra].map((c) => c()));
    const main = this.main;
    this.main = undefined;
    this.views.clear();
    if (main) await (await main).close();
    const x = this.xvfb;
    this.xvfb = undefined;
    if (x) {
      const { proc } = await x;
      proc.removeAllListeners('exit');
      proc.kill();
    }
  }
}

/** Whether test/browser-peer.html finished loading its modules. */
const READY = 'return globalThis.peerReady === true';

/** The WebKit provider for a vitest browser instance `{ browser: 'webkit', provider: webkit() }`. */
export function webkit(options: WebKitProviderOptions = {}) {
  return defineBrowserProvider({
    name: 'webkitgtk-host',
    supportedBrowser: ['webkit'],
    options,
    providerFactory: (project) => new WebKitProvider(project, options),
  });
}
