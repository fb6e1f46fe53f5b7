/**
 * The demo page end to end, as a person uses it: the page is built with the
 * demo's own Vite config, served by Vite's preview server on 127.0.0.1, and
 * driven in headless Chromium. What it shows and what it downloads are
 * checked in Node against independent computations (node:crypto on the
 * canonical text written out by hand) and by importing its files with the SDK.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright';
import type { PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { canonicalize, exportBundleToBlob, importBundle, openArchive, parseBackup } from '../src/index.js';
import { makeHostileBundles } from './fixtures/make-hostile-bundles.js';
import { buildDemo, launchChromium, previewDemo } from './support/demo-page.js';

/**
 * Screenshots of the main views are taken on every run; with
 * DEMO_SCREENSHOTS=1 they are written to docs/images/ (what docs/demo.md
 * shows), otherwise to the temporary build directory, so a plain test run
 * leaves the work tree as it was.
 */
const docsImages = fileURLToPath(new URL('../docs/images/', import.meta.url));

let outDir: string;
let server: PreviewServer | undefined;
let browser: Browser | undefined;
let page: Page;
const pageErrors: string[] = [];

/** Polls what the page shows; generous, because `npm test` runs this beside the browser project on 2 cores. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 50 });

/** What the page's hash list shows. */
async function listedHashes(): Promise<string[]> {
  return (await page.locator('#hash-list li[data-hash]').evaluateAll((els) => els.map((el) => el.getAttribute('data-hash')!))).sort();
}

/** Waits until the page has finished opening its backend. */
async function ready(): Promise<void> {
  await page.locator('body[data-ready="true"]').waitFor();
  await page.waitForFunction(() => document.getElementById('app-status')?.textContent?.startsWith('Ready'));
}

async function addIntent(goal: string): Promise<void> {
  const before = await page.locator('#intent-list li[data-intent-id]').count();
  await page.getByLabel('Goal', { exact: true }).fill(goal);
  await page.getByRole('button', { name: 'Add intent' }).click();
  await poll(() => page.locator('#intent-list li[data-intent-id]').count()).toBe(before + 1);
}

async function uploadBundle(name: string, bytes: Uint8Array): Promise<void> {
  await page.locator('#bundle-result').evaluate((el) => el.replaceChildren());
  await page.getByLabel('Import bundle', { exact: true }).setInputFiles({ name, mimeType: 'application/zip', buffer: Buffer.from(bytes) });
  await poll(() => page.locator('#bundle-result').textContent()).toMatch(/^(Imported|[A-Z_]+:)/);
}

async function screenshot(name: string, target: Page | ReturnType<Page['locator']> = page, fullPage = false): Promise<void> {
  const dir = process.env.DEMO_SCREENSHOTS === '1' ? docsImages : join(outDir, 'screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  // Animations off and the caret hidden, so the images only change when the page does.
  const options = { path, animations: 'disabled' as const, caret: 'hide' as const, scale: 'css' as const };
  await ('goto' in target ? target.screenshot({ ...options, fullPage }) : target.screenshot(options));
  expect(readFileSync(path).length).toBeGreaterThan(1000);
}

/** A bundle of `count` small values made in Node with the SDK (no page involved). */
async function makeBundle(count: number, tag: string): Promise<Uint8Array> {
  const archive = await openArchive(memoryAdapter());
  await archive.putMany(Array.from({ length: count }, (_, i) => ({ tag, i })));
  const blob = await exportBundleToBlob(archive);
  await archive.close();
  return new Uint8Array(await blob.arrayBuffer());
}

async function download(buttonName: string): Promise<{ name: string; bytes: Buffer }> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: buttonName }).click()]);
  const path = await dl.path();
  return { name: dl.suggestedFilename(), bytes: readFileSync(path) };
}

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'archive-storage-demo-'));
  await buildDemo(outDir);
  let url: string;
  ({ server, url } = await previewDemo(outDir));
  browser = await launchChromium();
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => void d.accept());
  await page.goto(url);
  await ready();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('demo page', () => {
  // Written out by hand: RFC 8785 sorts keys, prints 2.50 as 2.5 and keeps "é" as UTF-8.
  const typed = '{ "b": [1, 2.50, "é"],\n  "a": { "z": null, "y": true } }';
  const canonicalText = '{"a":{"y":true,"z":null},"b":[1,2.5,"é"]}';
  const expectedHash = createHash('sha256').update(canonicalText, 'utf8').digest('hex');
  let backupFile: { name: string; bytes: Buffer };
  let bundleFile: { name: string; bytes: Buffer };
  let hashesBeforeWipe: string[];

  it('opens IndexedDB by default, empty', async () => {
    expect(await page.getByLabel('Storage backend').inputValue()).toBe('indexeddb');
    expect(await listedHashes()).toEqual([]);
  });

  it('stores a typed JSON value and shows the SHA-256 of its canonical bytes', async () => {
    expect(canonicalize(JSON.parse(typed))).toBe(canonicalText);
    await page.getByRole('textbox', { name: 'JSON value' }).fill(typed);
    await page.getByRole('button', { name: 'Store value' }).click();
    await poll(() => page.locator('#put-hash').textContent()).toBe(expectedHash);
    await poll(listedHashes).toEqual([expectedHash]);
  });

  it('refuses text that is not strict JSON with the typed error code, storing nothing', async () => {
    await page.getByRole('textbox', { name: 'JSON value' }).fill('{"a": 1, "a": 2}');
    await page.getByRole('button', { name: 'Store value' }).click();
    await poll(() => page.locator('#put-result').getAttribute('data-code')).toBe('INVALID_JSON');
    expect(await page.locator('#put-result').textContent()).toMatch(/duplicate/i);
    expect(await listedHashes()).toEqual([expectedHash]);
  });

  it('keeps the value across a reload and reads it back by its hash', async () => {
    await page.reload();
    await ready();
    expect(await listedHashes()).toEqual([expectedHash]);
    await page.locator(`#hash-list button[data-hash="${expectedHash}"]`).click();
    await poll(async () => JSON.parse((await page.locator('#value-view').textContent()) || 'null')).toEqual(JSON.parse(typed));
  });

  it('adds intents and an edge, and shows them in the RTFS snapshot', async () => {
    await addIntent('book a table for two');
    await addIntent('compare train and plane');
    const idOf = async (goal: string) => (await page.locator('#intent-list li[data-intent-id]', { hasText: goal }).getAttribute('data-intent-id'))!;
    await page.getByLabel('From', { exact: true }).selectOption(await idOf('book a table for two'));
    await page.getByLabel('To', { exact: true }).selectOption(await idOf('compare train and plane'));
    await page.getByLabel('Edge type').selectOption('Enables');
    await page.getByLabel('Weight (optional)').fill('0.5');
    await page.getByRole('button', { name: 'Add edge' }).click();
    await poll(() => page.locator('#edge-list li[data-edge-type="Enables"]').count()).toBe(1);
    const rtfs = (await page.locator('#rtfs-view').textContent()) ?? '';
    expect(rtfs).toContain(':goal "book a table for two"');
    expect(rtfs).toContain(':goal "compare train and plane"');
    expect(rtfs).toMatch(/\(edge \{:from "intent-[0-9a-f]+" :to "intent-[0-9a-f]+" :type "Enables" :metadata nil :weight 0\.5\}\)/);
  });

  it('downloads a StorageBackupData v1.1 backup holding the graph', async () => {
    backupFile = await download('Download backup');
    expect(backupFile.name).toMatch(/^intent-graph-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.json$/);
    const doc = JSON.parse(backupFile.bytes.toString('utf8'));
    expect(doc.version).toBe('1.1');
    expect(doc.manifest.created_by).toBe('archive-storage-demo');
    const goals = Object.values(doc.intents as Record<string, { goal: string }>).map((i) => i.goal).sort();
    expect(goals).toEqual(['book a table for two', 'compare train and plane']);
    expect(doc.edges).toHaveLength(1);
    expect(doc.edges[0]).toMatchObject({ edge_type: 'Enables', weight: 0.5, metadata: null });
    expect(doc.intents[doc.edges[0].from].goal).toBe('book a table for two');
    // The SDK's own reader accepts it without a warning (its RTFS agrees with its JSON).
    expect(parseBackup(backupFile.bytes).warnings).toEqual([]);
  });

  it('exports a bundle that imports in Node with exactly the objects the page lists', async () => {
    hashesBeforeWipe = await listedHashes();
    expect(hashesBeforeWipe).toHaveLength(4); // the value, two intents, one edge
    bundleFile = await download('Export bundle (.zip)');
    expect(bundleFile.name).toMatch(/^archive-bundle-.*\.zip$/);
    const archive = await openArchive(memoryAdapter());
    const report = await importBundle(archive, new Uint8Array(bundleFile.bytes));
    expect(report).toMatchObject({ objects: 4, added: 4, present: 0 });
    const inNode: string[] = [];
    for await (const hash of archive.list()) inNode.push(hash);
    expect(inNode.sort()).toEqual(hashesBeforeWipe);
    expect(await archive.get(expectedHash)).toEqual(JSON.parse(typed));
    const carried = report.extras.backup as { intents: Record<string, unknown> };
    expect(Object.keys(carried.intents).sort()).toEqual(Object.keys(JSON.parse(backupFile.bytes.toString('utf8')).intents).sort());
  });

  it('refuses hostile bundles with their error code and leaves the archive unchanged', async () => {
    const cases = makeHostileBundles().filter((c) => ['path-dotdot', 'hash-mismatch', 'crc-wrong', 'zip-bomb', 'not-a-zip'].includes(c.name) && !c.limits);
    expect(cases.map((c) => c.code)).toEqual(['BUNDLE_UNSAFE_PATH', 'BUNDLE_CRC_MISMATCH', 'BUNDLE_HASH_MISMATCH', 'BUNDLE_COMPRESSION_RATIO', 'BUNDLE_MALFORMED']);
    for (const c of cases) {
      await uploadBundle(`${c.name}.zip`, c.bytes);
      expect({ name: c.name, code: await page.locator('#bundle-result').getAttribute('data-code') }).toEqual({ name: c.name, code: c.code });
      expect(await listedHashes()).toEqual(hashesBeforeWipe);
    }
  });

  it('imports a valid bundle and reports what it added and what was present', async () => {
    const valid = makeHostileBundles().find((c) => c.name === 'valid')!;
    await uploadBundle('valid.zip', valid.bytes);
    expect(await page.locator('#bundle-result').getAttribute('data-code')).toBeNull();
    expect(await page.locator('#bundle-added').textContent()).toBe('3');
    expect(await page.locator('#bundle-present').textContent()).toBe('0');
    expect(await listedHashes()).toHaveLength(7);
  });

  it('after deleting everything, restores the backup and re-imports the bundle', async () => {
    await page.getByRole('button', { name: 'Delete all data in this backend' }).click();
    await poll(listedHashes).toEqual([]);
    await poll(() => page.locator('#intent-list li[data-intent-id]').count()).toBe(0);

    // A backup that is not one: refused with its code, the graph untouched.
    await page.getByLabel('Restore backup', { exact: true }).setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('{"version":"2.0","intents":{},"edges":[],"timestamp":1}') });
    await poll(() => page.locator('#backup-result').getAttribute('data-code')).toBe('UNSUPPORTED_VERSION');

    await page.getByLabel('Restore backup', { exact: true }).setInputFiles({ name: backupFile.name, mimeType: 'application/json', buffer: backupFile.bytes });
    await poll(() => page.locator('#backup-result').textContent()).toMatch(/^Restored 2 intents and 1 edges/);
    const ids = await page.locator('#intent-list li[data-intent-id]').evaluateAll((els) => els.map((el) => el.getAttribute('data-intent-id')));
    expect(ids.sort()).toEqual(Object.keys(JSON.parse(backupFile.bytes.toString('utf8')).intents).sort());
    expect(await page.locator('#edge-list li[data-edge-type="Enables"]').count()).toBe(1);

    // The restored graph stored the same intent and edge objects again; the bundle brings the rest.
    await uploadBundle(bundleFile.name, bundleFile.bytes);
    expect(await page.locator('#bundle-added').textContent()).toBe('1');
    expect(await page.locator('#bundle-present').textContent()).toBe('3');
    expect(await listedHashes()).toEqual(hashesBeforeWipe);
  });

  it('verifies the archive with progress and finds nothing wrong', async () => {
    await page.getByRole('button', { name: 'Verify archive' }).click();
    await poll(() => page.locator('#verify-result').textContent()).toBe('Verified 4 objects: every one hashes to its address.');
    expect(await page.locator('#verify-progress').isHidden()).toBe(true);
  });

  it('switches to the memory backend and back, each with its own data', async () => {
    await page.getByLabel('Storage backend').selectOption('memory');
    await poll(() => page.locator('#backend-info').textContent()).toMatch(/^A Map in this tab/);
    await poll(listedHashes).toEqual([]);
    await page.getByRole('textbox', { name: 'JSON value' }).fill(typed);
    await page.getByRole('button', { name: 'Store value' }).click();
    await poll(() => page.locator('#put-hash').textContent()).toBe(expectedHash);
    await poll(listedHashes).toEqual([expectedHash]);

    await page.getByLabel('Storage backend').selectOption('indexeddb');
    await poll(() => page.locator('#backend-info').textContent()).toMatch(/^IndexedDB database/);
    await poll(listedHashes).toEqual(hashesBeforeWipe);
    expect(await page.locator('#intent-list li[data-intent-id]').count()).toBe(2);
  });

  it('names intents and edges by their goals and draws the graph', async () => {
    const drawing = page.getByRole('img', { name: 'Intent graph: 2 intents, 1 edges' });
    await drawing.waitFor();
    expect(await drawing.locator('.node-label').allTextContents()).toEqual(expect.arrayContaining(['book a table for two', 'compare train and plane']));
    expect(await drawing.locator('.edge[data-edge-type="Enables"] .edge-label').textContent()).toBe('Enables 0.5');
    expect(await page.getByLabel('From', { exact: true }).locator('option').allTextContents()).toEqual(expect.arrayContaining(['book a table for two', 'compare train and plane']));
    expect(await page.locator('#edge-list li').first().textContent()).toContain('book a table for two → Enables → compare train and plane');
    // Objects of the graph are named in the object list too.
    expect(await page.locator('#hash-list .tag').allTextContents()).toEqual(expect.arrayContaining(['intent: book a table for two', 'edges (1): book a table for two → Enables → compare train and plane']));
    await page.locator(`#hash-list button[data-hash="${expectedHash}"]`).click();
    await poll(async () => JSON.parse((await page.locator('#value-view').textContent()) || 'null')).toEqual(JSON.parse(typed));
    await screenshot('demo-desktop', page, true);
    await screenshot('demo-graph', page.locator('section[aria-labelledby="graph-title"]'));
  });

  it('fits a 390 px wide phone screen with no horizontal scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await page.evaluate(() => window.scrollTo(0, 0));
      await screenshot('demo-phone', page);
      await page.locator('section[aria-labelledby="graph-title"]').scrollIntoViewIfNeeded();
      await screenshot('demo-phone-graph', page.locator('section[aria-labelledby="graph-title"]'));
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  it('drops messages that no longer describe the page', async () => {
    await page.getByRole('button', { name: 'Verify archive' }).click();
    await poll(() => page.locator('#verify-result').textContent()).toBe('Verified 4 objects: every one hashes to its address.');
    await page.getByRole('button', { name: 'Clear intent graph' }).click();
    await poll(() => page.locator('#graph-result').textContent()).toMatch(/The intent graph is empty now/);
    // Still four objects: the verify message still holds and stays.
    expect(await page.locator('#verify-result').textContent()).toBe('Verified 4 objects: every one hashes to its address.');

    await page.getByLabel('Restore backup', { exact: true }).setInputFiles({ name: backupFile.name, mimeType: 'application/json', buffer: backupFile.bytes });
    await poll(() => page.locator('#backup-result').textContent()).toMatch(/^Restored 2 intents and 1 edges/);
    // "The graph is empty" beside two restored intents would contradict the page: it is gone.
    expect(await page.locator('#graph-result').textContent()).toBe('');
    expect(await page.locator('#intent-list li[data-intent-id]').count()).toBe(2);

    const extra = { stale: 'messages' };
    await page.getByRole('textbox', { name: 'JSON value' }).fill(JSON.stringify(extra));
    await page.getByRole('button', { name: 'Store value' }).click();
    const extraHash = createHash('sha256').update(canonicalize(extra), 'utf8').digest('hex');
    await poll(() => page.locator('#put-hash').textContent()).toBe(extraHash);
    // Five objects now: "Verified 4" is gone.
    expect(await page.locator('#verify-result').textContent()).toBe('');

    // Deleting that object takes "Stored as <hash>" with it.
    await page.locator(`#hash-list button[data-hash="${extraHash}"]`).click();
    await poll(() => page.locator('#value-view').textContent()).toContain('"stale"');
    await page.getByRole('button', { name: 'Delete this object' }).click();
    await poll(() => page.locator('#objects-result').textContent()).toBe(`Deleted object ${extraHash}.`);
    expect(await listedHashes()).toEqual(hashesBeforeWipe);
    expect(await page.locator('#put-result').textContent()).toBe('');
  });

  it('deletes one edge and one intent by name, keeps graph objects from plain deletion, and gc says what it removed', async () => {
    const graphHashes = hashesBeforeWipe.filter((h) => h !== expectedHash);
    // An object the graph uses cannot be deleted from the object list.
    await page.locator(`#hash-list button[data-hash="${graphHashes[0]}"]`).click();
    await page.getByRole('button', { name: 'Delete this object' }).click();
    await poll(() => page.locator('#objects-result').getAttribute('data-code')).toBe('INVALID_ARGUMENT');
    expect(await page.locator('#objects-result').textContent()).toMatch(/used by the intent graph/);
    expect(await listedHashes()).toEqual(hashesBeforeWipe);

    await page.getByRole('button', { name: 'Delete edge book a table for two → Enables → compare train and plane' }).click();
    await poll(() => page.locator('#edge-list li[data-edge-type]').count()).toBe(0);
    expect(await page.locator('#graph-result').textContent()).toMatch(/^Deleted edge book a table for two → Enables → compare train and plane/);
    await page.getByRole('button', { name: 'Delete intent compare train and plane' }).click();
    await poll(() => page.locator('#intent-list li[data-intent-id]').count()).toBe(1);
    expect(await page.locator('#graph-result').textContent()).toMatch(/^Deleted intent “compare train and plane”/);
    expect(await page.getByRole('img', { name: 'Intent graph: 1 intents, 0 edges' }).count()).toBe(1);
    // Deleted from the graph, still in the archive until gc.
    expect(await listedHashes()).toEqual(hashesBeforeWipe);

    // The graph lives on references: the deleted intent and the old edge list stay as history, which gc keeps.
    await page.getByRole('button', { name: 'Collect garbage' }).click();
    await poll(() => page.locator('#verify-result').textContent()).toBe(
      "Garbage collection found nothing to remove: all 4 objects are in use or values you stored (2 of them earlier versions of intents and edges, which the graph's history keeps).",
    );
    const left = await listedHashes();
    expect(left).toEqual(hashesBeforeWipe);
    expect(left).toContain(expectedHash);
  });

  it('says what a file is when it is put in the wrong picker', async () => {
    await page.getByLabel('Restore backup', { exact: true }).setInputFiles({ name: bundleFile.name, mimeType: 'application/zip', buffer: bundleFile.bytes });
    await poll(() => page.locator('#backup-result').getAttribute('data-code')).toBe('INVALID_BACKUP');
    expect(await page.locator('#backup-result').textContent()).toContain(`${bundleFile.name} is a portable bundle (.zip), not a backup: use “Import bundle” below`);
    await uploadBundle(backupFile.name, backupFile.bytes);
    expect(await page.locator('#bundle-result').getAttribute('data-code')).toBe('BUNDLE_MALFORMED');
    expect(await page.locator('#bundle-result').textContent()).toContain('is a JSON file, not a bundle — if it is a backup (StorageBackupData), use “Restore backup” above');
    expect(await page.locator('#intent-list li[data-intent-id]').count()).toBe(1);
  });

  it('pages a long object list, and imports with progress that can be cancelled', async () => {
    await page.getByLabel('Storage backend').selectOption('memory');
    await poll(() => page.locator('#backend-info').textContent()).toMatch(/^A Map in this tab/);
    await poll(listedHashes).toEqual([expectedHash]);
    await uploadBundle('250.zip', await makeBundle(250, 'paging'));
    expect(await page.locator('#bundle-added').textContent()).toBe('250');
    await poll(() => page.locator('#page-info').textContent()).toBe('1–100 of 251 (page 1 of 3)');
    expect(await page.locator('#hash-list li[data-hash]').count()).toBe(100);
    expect(await page.getByRole('button', { name: 'Previous page' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Next page' }).click();
    expect(await page.locator('#page-info').textContent()).toBe('101–200 of 251 (page 2 of 3)');
    await page.getByRole('button', { name: 'Next page' }).click();
    expect(await page.locator('#page-info').textContent()).toBe('201–251 of 251 (page 3 of 3)');
    expect(await page.locator('#hash-list li[data-hash]').count()).toBe(51);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);

    // 10 000 objects: long enough to see progress and to cancel; the page keeps painting meanwhile.
    const t0 = performance.now();
    const big = await makeBundle(10_000, 'cancel');
    console.log(`demo e2e: 10 000-object bundle made in Node in ${Math.round(performance.now() - t0)} ms (${big.length} bytes)`);
    await page.evaluate(() => {
      const w = window as unknown as { progressValues: Set<string>; longestTask: number };
      w.progressValues = new Set();
      w.longestTask = 0;
      const bar = document.getElementById('bundle-progress')!;
      new MutationObserver(() => w.progressValues.add(`${bar.getAttribute('value')}/${bar.getAttribute('max')}`)).observe(bar, { attributes: true });
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.longestTask = Math.max(w.longestTask, e.duration);
      }).observe({ type: 'longtask' });
    });
    await page.locator('#bundle-result').evaluate((el) => el.replaceChildren());
    await page.getByLabel('Import bundle', { exact: true }).setInputFiles({ name: 'big.zip', mimeType: 'application/zip', buffer: Buffer.from(big) });
    const cancel = page.getByRole('button', { name: 'Cancel bundle import or export' });
    await cancel.waitFor({ state: 'visible' });
    const t1 = performance.now();
    await poll(() => page.evaluate(() => (window as unknown as { progressValues: Set<string> }).progressValues.size)).toBeGreaterThan(2);
    await cancel.click();
    console.log(`demo e2e: Cancel clicked ${Math.round(performance.now() - t1)} ms into the import`);
    await poll(() => page.locator('#bundle-result').textContent()).toBe('Import of big.zip cancelled: nothing was added (an import is all or nothing).');
    expect(await cancel.isHidden()).toBe(true);
    expect(await page.locator('#bundle-progress').isHidden()).toBe(true);
    // Nothing added; the list stays on the page it showed.
    await poll(() => page.locator('#page-info').textContent()).toBe('201–251 of 251 (page 3 of 3)');
    const longest = await page.evaluate(() => (window as unknown as { longestTask: number }).longestTask);
    console.log(`demo e2e: longest main-thread task during a 10 000-object import into memory: ${Math.round(longest)} ms`);
  }, 180_000);

  it('raised no uncaught error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
