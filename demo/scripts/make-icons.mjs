// Renders demo/public/icon.svg to the PNG icons of the web app manifest with the
// machine's Chromium (nothing downloaded). Run by hand after changing the SVG:
//   node demo/scripts/make-icons.mjs
// The PNGs are committed; the build only copies them.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';

const dir = fileURLToPath(new URL('../public/', import.meta.url));
const svg = readFileSync(dir + 'icon.svg', 'utf8');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  for (const [name, size, maskable] of [
    ['icon-192.png', 192, false],
    ['icon-512.png', 512, false],
    ['icon-maskable-512.png', 512, true],
  ]) {
    await page.setViewportSize({ width: size, height: size });
    // A maskable icon fills the square edge to edge and keeps its drawing in the inner 80 % (the safe zone).
    const body = maskable
      ? `<div style="width:${size}px;height:${size}px;background:#2457c5;display:grid;place-items:center"><img src="data:image/svg+xml,${encodeURIComponent(svg)}" style="width:${size * 0.8}px;height:${size * 0.8}px"></div>`
      : `<img src="data:image/svg+xml,${encodeURIComponent(svg)}" style="width:${size}px;height:${size}px;display:block">`;
    await page.setContent(`<html><body style="margin:0;background:transparent">${body}</body></html>`);
    await page.waitForFunction(() => [...document.images].every((i) => i.complete));
    writeFileSync(dir + name, await page.screenshot({ omitBackground: true, type: 'png' }));
  }
} finally {
  await browser.close();
}
