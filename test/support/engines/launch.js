// How each browser engine is started, shared by the vitest providers (firefox.ts, webkit.ts, chromium.ts)
// and the benchmarks (bench/browser.bench.js, plain Node without a TypeScript loader, hence JavaScript;
// types in launch.d.ts). Nothing here downloads a browser: Debian's chromium, firefox-esr and WebKitGTK
// (through webkit-host.py) are used as installed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The engines, in the order their results are printed. */
export const ENGINES = ['chromium', 'firefox', 'webkit'];

/** The engines `BROWSER_ENGINES` asks for (comma-separated; default all). Throws on an unknown name. */
export function selectedEngines(value = process.env.BROWSER_ENGINES) {
  if (!value?.trim()) return [...ENGINES];
  const names = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const n of names) if (!ENGINES.includes(n)) throw new Error(`BROWSER_ENGINES: unknown engine ${JSON.stringify(n)} (known: ${ENGINES.join(', ')})`);
  return ENGINES.filter((e) => names.includes(e));
}

/** Path of the Chromium binary (`CHROMIUM_PATH` overrides Debian's). */
export const chromiumPath = () => process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The machine has no network beyond package registries: keep Chromium from calling home. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** about:config prefs of every Firefox we start. */
export const FIREFOX_PREFS = {
  // navigator.storage.persist() resolves without a person answering a prompt.
  'dom.storageManager.prompt.testing': true,
  'dom.storageManager.prompt.testing.allow': true,
  // The test pages of parallel sessions are tabs of one window, all but one in the background: without these,
  // Firefox clamps their timers to 1 s and budget-throttles them, so timeouts fire late and tests crawl.
  'dom.min_background_timeout_value': 4,
  'dom.min_background_timeout_value_without_budget_throttling': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
  'dom.suspend_inactive.enabled': false,
  'dom.ipc.processPriorityManager.enabled': false,
  // No calls home (the machine has no network beyond package registries).
  'app.update.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
};

/**
 * Starts Debian's firefox-esr through puppeteer-core over WebDriver BiDi, with an on-disk profile of its own
 * (real, persistent storage) that close() removes.
 */
export async function launchFirefox({ executablePath, headless = true, prefs = {} } = {}) {
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = mkdtempSync(join(tmpdir(), 'archive-storage-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: executablePath ?? process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr',
    headless,
    userDataDir: profile,
    extraPrefsFirefox: { ...FIREFOX_PREFS, ...prefs },
    protocolTimeout: 0,
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
      await removeProfile(profile);
    },
  };
}

/** Starts an Xvfb on a free display number (-displayfd), listening on no TCP port; resolves ":N" and the process. */
export function startXvfb() {
  return new Promise((resolve, reject) => {
    const proc = spawn('Xvfb', ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '1280x1024x24'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let err = '';
    proc.stderr.on('data', (d) => (err += d));
    proc.on('error', reject);
    proc.on('exit', (code) => reject(new Error(`Xvfb exited with ${code}: ${err}`)));
    proc.stdio[3].once('data', (d) => resolve({ display: `:${String(d).trim()}`, proc }));
  });
}

const HOST_SCRIPT = fileURLToPath(new URL('./webkit-host.py', import.meta.url));

/**
 * One WebKitGTK host process (webkit-host.py) with an on-disk profile of its own, driven by JSON lines over
 * stdin/stdout (open, goto, call, reload, close, quit). Debian's /usr/bin/python3, which has `gi`: a pyenv
 * python3 first on PATH does not.
 */
export class WebKitHost {
  constructor({ display, python = '/usr/bin/python3', hostScript = HOST_SCRIPT, args = [] }) {
    this.nextId = 0;
    this.waiting = new Map();
    this.profile = mkdtempSync(join(tmpdir(), 'archive-storage-webkit-'));
    this.proc = spawn(python, [hostScript, '--profile', this.profile, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, DISPLAY: display, GDK_BACKEND: 'x11', WEBKIT_DISABLE_COMPOSITING_MODE: '1' },
    });
    let stderr = '';
    this.proc.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    let onReady;
    let onFail;
    this.ready = new Promise((res, rej) => ((onReady = res), (onFail = rej)));
    this.proc.on('exit', (code) => {
      const e = new Error(`WebKit host exited with ${code}: ${stderr}`);
      onFail(e);
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    });
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return; // noise from the engine on stdout
      }
      if (msg.event === 'ready') onReady({ webkit: msg.webkit, features: msg.features });
      else if (msg.event === 'crashed') console.error('[webkit] web process terminated', msg);
      else if (msg.id !== undefined) {
        const w = this.waiting.get(msg.id);
        this.waiting.delete(msg.id);
        if (msg.ok) w?.resolve(msg.value);
        else w?.reject(new Error(`[webkit] ${msg.error}`));
      }
    });
  }

  /** Sends one request; resolves its value. */
  send(op, params = {}) {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.proc.stdin.write(JSON.stringify({ id, op, ...params }) + '\n');
    });
  }

  /** Waits until `body` (an async function body) returns true in view `view`, for at most 30 s. */
  async waitFor(view, body) {
    const deadline = Date.now() + 30_000;
    while (!(await this.send('call', { view, body }))) {
      if (Date.now() > deadline) throw new Error('the page did not become ready in 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async close() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      await Promise.race([this.send('quit').catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
      // The web and network processes write their caches until the host is gone: remove the profile after.
      this.proc.kill();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    }
    await removeProfile(this.profile);
  }
}

/** Removes a profile directory, retrying for a while: the browser's helper processes may still be finishing in it. */
async function removeProfile(dir) {
  for (let attempt = 0; ; attempt++) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
      return;
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * Opens `url` in a fresh browser of `engine` with an on-disk profile, for scripts outside vitest (the
 * benchmarks). `evaluate(expression)` resolves the JSON value of an expression (awaited) in the page.
 */
export async function openEnginePage(engine, url) {
  if (engine === 'firefox') {
    const ff = await launchFirefox();
    const page = await ff.browser.newPage();
    await page.goto(url);
    const version = `Firefox ${(await ff.browser.version()).replace(/^firefox\//i, '')}`;
    return { version, evaluate: (expression) => page.evaluate(`(async () => (${expression}))()`), close: ff.close };
  }
  if (engine === 'webkit') {
    const xvfb = await startXvfb();
    const host = new WebKitHost({ display: xvfb.display });
    const stop = async () => {
      await host.close();
      xvfb.proc.removeAllListeners('exit');
      xvfb.proc.kill();
    };
    try {
      const { webkit } = await host.ready;
      const view = await host.send('open', { url });
      return { version: `WebKitGTK ${webkit}`, evaluate: (expression) => host.send('call', { view, body: `return await (${expression});` }), close: stop };
    } catch (error) {
      await stop();
      throw error;
    }
  }
  const { chromium } = await import('playwright');
  const profile = mkdtempSync(join(tmpdir(), 'archive-storage-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(url);
  // The user agent says 156.0.0.0 (reduced); the DevTools protocol knows the build.
  const cdp = await context.newCDPSession(page);
  const { product } = await cdp.send('Browser.getVersion');
  await cdp.detach();
  return {
    version: `Chromium ${product.replace(/^[^/]*\//, '')}`,
    evaluate: (expression) => page.evaluate(`(async () => (${expression}))()`),
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}
