/**
 * The demo page offline, in real Chromium: the built page is served once by
 * Vite's preview server on 127.0.0.1; its service worker (vite-plugin-pwa,
 * Workbox precaching) must then carry it with no server at all, and with the
 * browser set offline. A persistent user-data directory keeps the service
 * worker, its cache and IndexedDB across reloads, as a person's browser does.
 *
 * Last, the update flow: a new build is deployed under the same URL, the open
 * tab is told "a new version is ready", and its *Reload to update* button
 * brings the tab onto the new code with the stored data intact.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright';
import type { PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize } from '../src/index.js';
import { buildDemo, CHROMIUM_ARGS, CHROMIUM_PATH, previewDemo } from './support/demo-page.js';


let outDir: string;
let userDataDir: string;
let server: PreviewServer | undefined;
let context: BrowserContext | undefined;
let page: Page;
let url: string;
let port: number;
const pageErrors: string[] = [];

/** Generous: this runs beside other browser tests on a loaded 2-core machine. */
const poll = <T>(fn: () => T | Promise<T>, timeout = 30_000) => expect.poll(fn, { timeout, interval: 100 });

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

async function startServer(wantedPort: number): Promise<void> {
  ({ server, url } = await previewDemo(outDir, wantedPort));
  port = Number(new URL(url).port);
}

async function stopServer(): Promise<void> {
  await server?.close();
  server = undefined;
}

/** Whether anything answers at the server's address, asked from Node (not through the browser's cache). */
async function serverAnswers(): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return true;
  } catch {
    return false;
  }
}

async function ready(): Promise<void> {
  await page.locator('body[data-ready="true"]').waitFor({ timeout: 60_000 });
  await page.waitForFunction(() => document.getElementById('app-status')?.textContent?.startsWith('Ready'), undefined, { timeout: 60_000 });
}

async function reload(): Promise<void> {
  await page.reload({ waitUntil: 'load', timeout: 60_000 });
  await ready();
}

async function listedHashes(): Promise<string[]> {
  return (await page.locator('#hash-list li[data-hash]').evaluateAll((els) => els.map((el) => el.getAttribute('data-hash')!))).sort();
}

/** Stores `value` through the page's form; returns the hash the page shows. */
async function storeThroughUi(value: unknown): Promise<string> {
  await page.getByRole('textbox', { name: 'JSON value' }).fill(JSON.stringify(value, null, 1));
  await page.getByRole('button', { name: 'Store value' }).click();
  const expected = sha256(canonicalize(value as never));
  await poll(() => page.locator('#put-hash').textContent()).toBe(expected);
  return expected;
}

/** Every file the build wrote that the service worker must precache (all but source maps and the worker itself). */
function builtFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(outDir, path).split('\\').join('/'));
    }
  };
  walk(outDir);
  return out.filter((f) => !f.endsWith('.map') && f !== 'sw.js' && !/^workbox-[0-9a-f]+\.js$/.test(f)).sort();
}

/** The URLs in the generated service worker's precache manifest. */
function precachedUrls(): string[] {
  const sw = readFileSync(join(outDir, 'sw.js'), 'utf8');
  return [...new Set([...sw.matchAll(/\{url:"([^"]+)",revision:/g)].map((m) => m[1]!))].sort();
}

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'archive-storage-demo-offline-'));
  userDataDir = mkdtempSync(join(tmpdir(), 'archive-storage-demo-profile-'));
  await buildDemo(outDir);
  await startServer(0);
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => void d.accept());
  await page.goto(url);
  await ready();
}, 180_000);

afterAll(async () => {
  await context?.close();
  await stopServer();
  for (const dir of [outDir, userDataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('demo page offline', () => {
  const first = { note: 'stored with the server stopped', n: 1, tags: ['offline', 'é'] };
  const second = { note: 'stored with the browser offline', n: 2 };
  let firstHash: string;
  let secondHash: string;

  it('precaches every file the build wrote, the OPFS worker included', async () => {
    const files = builtFiles();
    expect(files).toContain('index.html');
    expect(files).toContain('manifest.webmanifest');
    expect(files.some((f) => /^assets\/worker-.*\.js$/.test(f))).toBe(true);
    expect(precachedUrls()).toEqual(files);
  });

  it('serves an installable web app manifest with icons', async () => {
    const manifest = await page.evaluate(async () => {
      const link = document.querySelector<HTMLLinkElement>('link[rel="manifest"]');
      return link ? ((await (await fetch(link.href)).json()) as { name: string; start_url: string; display: string; icons: { src: string; sizes: string }[] }) : null;
    });
    expect(manifest).toMatchObject({ name: 'archive-storage demo', start_url: './', display: 'standalone' });
    expect(manifest!.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
    for (const icon of manifest!.icons) expect(statSync(join(outDir, icon.src)).size).toBeGreaterThan(100);
    // Chromium's own verdict (the checks behind its install button).
    const cdp = await context!.newCDPSession(page);
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
    await cdp.detach();
    expect(installabilityErrors.map((e) => e.errorId)).toEqual([]);
  });

  it('is controlled by its service worker after the first visit', async () => {
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    await poll(() => page.locator('#offline-status').textContent()).toMatch(/offline/i);
    // Everything precached is in Cache Storage now, before any request for it.
    const cached = await page.evaluate(async () => {
      const urls: string[] = [];
      for (const name of await caches.keys()) for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname.slice(1));
      return urls;
    });
    for (const file of precachedUrls()) expect(cached).toContain(file);
  });

  it('with the server stopped: loads from cache, stores a value, and lists it after another reload', async () => {
    await stopServer();
    expect(await serverAnswers()).toBe(false);
    await reload();
    firstHash = await storeThroughUi(first);
    await poll(listedHashes).toEqual([firstHash]);
    await reload();
    expect(await listedHashes()).toEqual([firstHash]);
    await page.locator(`#hash-list button[data-hash="${firstHash}"]`).click();
    await poll(async () => JSON.parse((await page.locator('#value-view').textContent()) || 'null')).toEqual(first);
  });

  it('with the server running but the browser offline: the same', async () => {
    await startServer(port);
    expect(await serverAnswers()).toBe(true);
    await context!.setOffline(true);
    try {
      await reload();
      // The network really is gone for the page: a file that is not precached cannot be fetched.
      expect(await page.evaluate(() => fetch(`./not-precached-${Date.now()}.txt`).then(() => 'fetched', () => 'failed'))).toBe('failed');
      secondHash = await storeThroughUi(second);
      await poll(listedHashes).toEqual([firstHash, secondHash].sort());
      await reload();
      expect(await listedHashes()).toEqual([firstHash, secondHash].sort());
    } finally {
      await context!.setOffline(false);
    }
  });

  it('offers a new build with "Reload to update" and moves the tab onto it, data kept', async () => {
    expect(await page.locator('#demo-version').textContent()).not.toBe('update-test');
    await buildDemo(outDir, 'update-test');
    // The browser checks on navigations and the page hourly; ask now instead of waiting.
    await page.evaluate(async () => {
      await (await navigator.serviceWorker.getRegistration())?.update();
    });
    const banner = page.getByRole('alert').filter({ hasText: 'A new version of this page is ready' });
    await banner.waitFor({ state: 'visible', timeout: 60_000 });
    // Nothing changed under the open tab while the new version waited.
    expect(await page.locator('#demo-version').textContent()).not.toBe('update-test');
    await page.getByRole('button', { name: 'Reload to update' }).click();
    await poll(() => page.locator('#demo-version').textContent(), 60_000).toBe('update-test');
    await ready();
    expect(await listedHashes()).toEqual([firstHash, secondHash].sort());
    expect(await page.locator('#update-banner').isHidden()).toBe(true);
  });

  it('raised no uncaught error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
