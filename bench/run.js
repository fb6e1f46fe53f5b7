#!/usr/bin/env node
// `npm run bench [-- name ...]`: runs bench/<name>.bench.js (all when no name is given) in
// one process, one after another, each printing its table of medians and ratios.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .map((f) => f.slice(0, -'.bench.js'.length))
  .sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`unknown bench: ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
console.log(`# archive-storage benchmarks — node ${process.version}, ${new Date().toISOString()}`);
for (const name of wanted.length ? wanted : all) {
  const mod = await import(`./${name}.bench.js`);
  await mod.run();
}
