/**
 * The demo page end to end, as a person uses it: the page is built with the
 * demo's own Vite config, served by Vite's preview server on 127.0.0.1, and
 * driven in headless Chromium. What it shows and what it downloads are
 * checked in Node against independent computations (node:crypto on the
 * canonical text written out by hand) and by importing its files with the SDK.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import { canonicalize, importBundle, openArchive, parseBackup } from '../src/index.js';
import { makeHostileBundles } from './fixtures/make-hostile-bundles.js';

const configFile = fileURLToPath(new URL('../demo/vite.config.ts', import.meta.url));
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

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

async function download(buttonName: string): Promise<{ name: string; bytes: Buffer }> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: buttonName }).click()]);
  const path = await dl.path();
  return { name: dl.suggestedFilename(), bytes: readFileSync(path) };
}

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'archive-storage-demo-'));
  await build({ configFile, logLevel: 'warn', build: { outDir, emptyOutDir: true, sourcemap: false } });
  server = await preview({ configFile, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url?.startsWith('http://127.0.0.1:')) throw new Error(`preview server is not on 127.0.0.1: ${String(url)}`);
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: CHROMIUM_ARGS });
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

  it('raised no uncaught error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
