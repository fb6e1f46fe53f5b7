#!/usr/bin/env node
// The package as a user gets it: `npm pack` the built library, install the tarball into an empty
// project outside this repository (its own node_modules, dependencies from the registry, the
// optional SQLite build skipped), then run the README's Node snippet with Node and its browser
// snippet in Chromium, both taken from README.md itself (the ```ts block after each
// `<!-- smoke:node -->` / `<!-- smoke:browser -->` marker), so the README cannot drift from what works.
//
// Run after `npm run build` (`.ci/run` does): node scripts/pack-smoke.mjs
// Tools (vite, playwright) come from this repository; the package and its dependencies only from
// the temporary project. Servers listen on 127.0.0.1 and stop before the script ends.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const step = (what) => console.log(`pack-smoke: ${what}`);
const fail = (why) => {
  console.error(`pack-smoke: FAILED: ${why}`);
  process.exit(1);
};

/** The ```ts block that follows `<!-- smoke:NAME -->` in the README. */
function readmeSnippet(name) {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const at = readme.indexOf(`<!-- smoke:${name} -->`);
  if (at < 0) fail(`README.md has no <!-- smoke:${name} --> marker`);
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) fail(`no \`\`\`ts block after <!-- smoke:${name} -->`);
  return m[1];
}

if (!existsSync(join(repo, 'dist/index.js'))) fail('dist/ is missing: run `npm run build` first');
const work = mkdtempSync(join(tmpdir(), 'archive-storage-pack-smoke-'));
try {
  step(`packing into ${work}`);
  const packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: repo, encoding: 'utf8' }));
  const tarball = join(work, packed[0].filename);
  const files = packed[0].files.map((f) => f.path);
  for (const must of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/cli.js', 'dist/testing.js']) {
    if (!files.includes(must)) fail(`the tarball lacks ${must}`);
  }
  if (files.some((f) => /^(src|test|adapters|node_modules)\//.test(f))) fail('the tarball carries sources, tests or node_modules');

  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'smoke-app', private: true, type: 'module' }, null, 2));
  step('installing the tarball into an empty project (npm install --omit=optional)');
  const t0 = Date.now();
  execFileSync(npm, ['install', '--no-audit', '--no-fund', '--omit=optional', '--loglevel=error', tarball], { cwd: app, stdio: 'inherit' });
  step(`installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // ---- Node: the README snippet, as written, in the empty project -------------------------
  writeFileSync(join(app, 'node-snippet.mjs'), readmeSnippet('node'));
  step('running the README Node snippet');
  execFileSync(process.execPath, ['node-snippet.mjs'], { cwd: app, stdio: 'inherit' });
  // What the closed archive is on disk: objects named by their hashes, and the index (a v2 root naming its runs).
  const filesUnder = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
  const objects = filesUnder(join(app, '.archive/objects'));
  if (objects.length !== 3) fail(`expected 3 objects under .archive/objects, found ${objects.length}`);
  for (const file of objects) {
    const name = /([0-9a-f]{64})\.json$/.exec(file)?.[1];
    if (!name || createHash('sha256').update(readFileSync(file)).digest('hex') !== name) fail(`object ${file} does not hash to its name`);
  }
  const root = JSON.parse(readFileSync(join(app, '.archive/index.json'), 'utf8'));
  if (root.version !== 2 || root.count !== 3) fail(`expected a v2 index root counting 3 objects, found ${JSON.stringify({ version: root.version, count: root.count })}`);
  // Empty folders may stay (node-fs keeps '#locks', '#writers' and an emptied 'journal': removing a folder could
  // race another process creating a file in it); no file may stay besides the objects, the index and the change log
  // (docs/format.md, "Change log v2": one pack per fold of the folded journal segments, kept an hour so that change
  // listeners can catch up, and reference change segments).
  const changes = join(app, '.archive/changes');
  const kept = statSync(changes, { throwIfNoEntry: false }) ? readdirSync(changes) : [];
  const packs = kept.filter((n) => /^\d{15}-\d{15}-[0-9a-z]{1,32}-\d{1,12}\.pack$/.test(n));
  if (packs.length === 0 || kept.some((n) => !packs.includes(n) && !/^\d{15}-[0-9a-z]{1,32}-\d{1,12}\.log$/.test(n))) {
    fail(`expected the change log to keep the folded segments in packs, found ${JSON.stringify(kept)}`);
  }
  const folded = new Set(packs.flatMap((name) => packLines(readFileSync(join(changes, name), 'utf8'), name)).filter((l) => l.startsWith('put ')).map((l) => l.split(' ')[1]));
  if (folded.size !== 3) fail(`expected the packs to hold put lines of the snippet's 3 objects, found ${folded.size}`);
  const leftovers = readdirSync(join(app, '.archive')).filter((n) => !['objects', 'index.json', 'index', 'changes'].includes(n)).flatMap((n) => {
    const full = join(app, '.archive', n);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
  if (leftovers.length) fail(`the closed archive and adapter left files besides objects/ and the index: ${leftovers.join(', ')}`);
  step(`Node snippet: 3 objects, each hashes to its name, a v2 index counting them, ${packs.length} change-log pack(s) holding their put lines, no writer marker or temp file left`);

  // ---- Browser: the README snippet bundled by Vite from the installed package, in Chromium ----
  const expected = createHash('sha256').update('{"tags":["a","b"],"title":"hello"}').digest('hex');
  writeFileSync(
    join(app, 'main.js'),
    `${readmeSnippet('browser')}\nconst stats = await archive.stats();\nglobalThis.smokeResult = { count: stats.count, has: await archive.has(${JSON.stringify(expected)}) };\n`,
  );
  writeFileSync(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><title>smoke</title><script type="module" src="./main.js"></script>');
  const { build } = await import('vite');
  step('bundling the README browser snippet with Vite');
  await build({ root: app, base: './', logLevel: 'warn', configFile: false, build: { outDir: join(app, 'out'), target: 'es2022' } });
  const result = await runInChromium(join(app, 'out'));
  if (result.count !== 1 || !result.has) fail(`browser snippet: expected 1 object with hash ${expected}, got ${JSON.stringify(result)}`);
  if (!result.download || result.download.name !== 'notes.zip' || result.download.size < 100) fail(`browser snippet: no notes.zip download (${JSON.stringify(result.download)})`);
  const zip = result.download.bytes;
  if (zip[0] !== 0x50 || zip[1] !== 0x4b) fail('browser snippet: the download is not a ZIP file');
  step(`browser snippet: same hash as Node (${expected.slice(0, 12)}…), ${result.download.name} downloaded (${result.download.size} bytes)`);
  console.log('pack-smoke: 2 passed, 0 failed');
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * Checks a pack of the change log (docs/format.md, "Change log v2", Packs) line by line: a checksummed
 * `seg <segment name> <n>` header, then exactly n checksummed journal lines, to the end. Returns the
 * journal lines' bodies; fails on anything else (the SDK never writes a damaged pack).
 */
function packLines(text, name) {
  const checked = (line) => {
    const body = line.slice(9);
    return line[8] === ' ' && createHash('sha256').update(body).digest('hex').slice(0, 8) === line.slice(0, 8) ? body : undefined;
  };
  const [newest, oldest] = name.split('-').map(Number);
  if (!text.endsWith('\n')) fail(`pack ${name} does not end with a newline`);
  const lines = text.slice(0, -1).split('\n');
  const journal = [];
  for (let i = 0; i < lines.length; ) {
    const header = /^seg (\d{15})-[0-9a-z]{1,32}-\d{1,12}\.log (\d+)$/.exec(checked(lines[i]) ?? '');
    if (!header) fail(`pack ${name}: line ${i + 1} is not a part header: ${JSON.stringify(lines[i])}`);
    const time = Number(header[1]);
    if (time < oldest || time > newest) fail(`pack ${name}: part ${lines[i]} is named outside the pack's times`);
    const n = Number(header[2]);
    if (n === 0 || i + 1 + n > lines.length) fail(`pack ${name}: part ${lines[i]} does not hold its ${n} lines`);
    for (const line of lines.slice(i + 1, i + 1 + n)) {
      const body = checked(line) ?? '';
      if (!/^(put [0-9a-f]{64} \d+ \d+|del [0-9a-f]{64})$/.test(body)) fail(`pack ${name}: not a journal line: ${JSON.stringify(line)}`);
      journal.push(body);
    }
    i += 1 + n;
  }
  return journal;
}

/** Serves `dir` on 127.0.0.1, loads it in headless Chromium, returns what the page reported and the download. */
async function runInChromium(dir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
  const server = createServer((req, res) => {
    const path = join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html');
    if (!path.startsWith(dir) || !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { chromium } = await import('playwright');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const downloaded = page.waitForEvent('download', { timeout: 60_000 });
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
    const download = await downloaded;
    const bytes = readFileSync(await download.path());
    await page.waitForFunction(() => globalThis.smokeResult !== undefined || false, undefined, { timeout: 60_000 }).catch(() => {});
    if (errors.length) fail(`the page threw: ${errors.join('; ')}`);
    const reported = await page.evaluate(() => globalThis.smokeResult);
    return { ...reported, download: { name: download.suggestedFilename(), size: bytes.length, bytes: [...bytes.subarray(0, 2)] } };
  } finally {
    await browser.close();
    await new Promise((r) => server.close(r));
  }
}
