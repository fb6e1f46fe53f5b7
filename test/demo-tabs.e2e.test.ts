/**
 * The demo page in two tabs of one Chromium browser context, on the built
 * page served on 127.0.0.1: what one tab does shows in the other without a
 * reload, through the SDK's change events (docs/demo.md, "Two tabs"). For
 * IndexedDB and OPFS; the memory backend says it is not live.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright';
import type { PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { exportBundleToBlob, openArchive } from '../src/index.js';
import { buildDemo, launchChromium, previewDemo } from './support/demo-page.js';


let outDir: string;
let server: PreviewServer | undefined;
let browser: Browser | undefined;
let url: string;
const pageErrors: string[] = [];

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 50 });

async function listedHashes(page: Page): Promise<string[]> {
  return page.locator('#hash-list li[data-hash]').evaluateAll((els) => els.map((el) => el.getAttribute('data-hash')!));
}

async function open(context: BrowserContext, backend: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => void d.accept());
  await page.goto(`${url}?backend=${backend}`);
  await page.locator('body[data-ready="true"]').waitFor();
  await page.waitForFunction(() => document.getElementById('app-status')?.textContent?.startsWith('Ready'));
  expect(await page.getByLabel('Storage backend').inputValue()).toBe(backend);
  return page;
}

async function store(page: Page, value: string): Promise<string> {
  await page.locator('#put-result').evaluate((el) => el.replaceChildren());
  await page.getByRole('textbox', { name: 'JSON value' }).fill(value);
  await page.getByRole('button', { name: 'Store value' }).click();
  await page.locator('#put-hash').waitFor();
  return (await page.locator('#put-hash').textContent())!;
}

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'archive-storage-demo-tabs-'));
  await buildDemo(outDir);
  ({ server, url } = await previewDemo(outDir));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('demo page in two tabs', () => {
  for (const backend of ['indexeddb', 'opfs']) {
    it(`${backend}: a value, a delete and an intent made in one tab show in the other without a reload`, async () => {
      const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
      try {
        const a = await open(context, backend);
        const b = await open(context, backend);
        for (const page of [a, b]) await poll(() => page.locator('#live-note').textContent()).toMatch(/^Live: changes made in other tabs/);

        // Stored in A: appears in B's list, with a message in B's objects panel.
        const hash = await store(a, `{ "tab": "A", "backend": "${backend}", "t": ${Date.now()} }`);
        await poll(() => listedHashes(b)).toContain(hash);
        await poll(() => b.locator('#objects-result').textContent()).toMatch(/^From another tab: 1 object stored/);

        // Deleted in B: disappears from A's list.
        await b.locator(`#hash-list button[data-hash="${hash}"]`).click();
        await poll(() => b.locator('#value-view').textContent()).toContain('"tab": "A"');
        await b.getByRole('button', { name: 'Delete this object' }).click();
        await poll(() => listedHashes(b)).not.toContain(hash);
        await poll(() => listedHashes(a)).not.toContain(hash);
        await poll(() => a.locator('#objects-result').textContent()).toMatch(/1 object deleted/);

        // An intent added in A: in B's intent list, drawing and RTFS snapshot.
        const goal = `live goal on ${backend}`;
        await a.getByLabel('Goal', { exact: true }).fill(goal);
        await a.getByRole('button', { name: 'Add intent' }).click();
        await poll(() => b.locator('#intent-list .goal').allTextContents()).toContain(goal);
        await poll(() => b.locator('#rtfs-view').textContent()).toContain(goal);
        await poll(() => b.locator('#graph-result').textContent()).toBe('From another tab: the intent graph changed.');

        // B's graph store is current: it can delete the intent A added (no CONFLICT), and A follows.
        await b.getByRole('button', { name: `Delete intent ${goal}` }).click();
        await poll(() => b.locator('#graph-result').textContent()).toMatch(/^Deleted intent/);
        await poll(() => a.locator('#intent-list .goal').allTextContents()).not.toContain(goal);

        // Both tabs end with the same objects.
        await poll(async () => (await listedHashes(a)).sort()).toEqual((await listedHashes(b)).sort());

        // A wipe deletes keys below the archive (no change events): the page says other tabs do not follow it.
        await a.getByRole('button', { name: 'Delete all data in this backend' }).click();
        await poll(() => a.locator('#backend-result').textContent()).toMatch(
          /^Deleted all data in this backend \(\d+ keys\)\. Other tabs open on it keep showing the old data until they are reloaded\.$/,
        );
        await b.reload();
        await b.locator('body[data-ready="true"]').waitFor();
        await poll(() => listedHashes(b)).toEqual([]);
      } finally {
        await context.close();
      }
      expect(pageErrors).toEqual([]);
    });
  }

  it('indexeddb: a 3000-object import in one tab is a few coalesced refreshes in the other', async () => {
    const count = 3000;
    const source = await openArchive(memoryAdapter());
    await source.putMany(Array.from({ length: count }, (_, i) => ({ tabs: 'import', i })));
    const bundle = Buffer.from(await (await exportBundleToBlob(source)).arrayBuffer());
    await source.close();
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const a = await open(context, 'indexeddb');
      const b = await open(context, 'indexeddb');
      const before = Number((await b.locator('body').getAttribute('data-live-refreshes')) ?? 0);
      await a.getByLabel('Import bundle', { exact: true }).setInputFiles({ name: 'tabs.zip', mimeType: 'application/zip', buffer: bundle });
      await poll(() => a.locator('#bundle-result').textContent()).toMatch(/^Imported/);
      await poll(() => b.locator('#stats').textContent()).toMatch(new RegExp(`^${count} objects`));
      await poll(() => b.locator('#objects-result').textContent()).toMatch(/^From another tab: \d+ objects stored/);
      const refreshes = Number(await b.locator('body').getAttribute('data-live-refreshes')) - before;
      // One refresh per 200 ms at most, however many objects arrive: far fewer than the objects.
      expect(refreshes).toBeGreaterThanOrEqual(1);
      expect(refreshes).toBeLessThan(count / 30);
      console.log(`demo tabs: ${count}-object import in tab A, ${refreshes} refreshes in tab B`);
      await a.getByRole('button', { name: 'Delete all data in this backend' }).click();
      await poll(() => a.locator('#backend-result').textContent()).toMatch(/^Deleted all data/);
    } finally {
      await context.close();
    }
    expect(pageErrors).toEqual([]);
  });

  it('memory: the page says other tabs cannot see it', async () => {
    const context = await browser!.newContext();
    try {
      const page = await open(context, 'memory');
      await poll(() => page.locator('#live-note').textContent()).toMatch(/^Not live: memory belongs to this tab alone/);
    } finally {
      await context.close();
    }
  });
});
