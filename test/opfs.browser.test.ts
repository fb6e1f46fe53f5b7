/**
 * The OPFS adapter in real headless Chromium, on both engines: the worker with
 * sync access handles, and the main-thread createWritable fallback.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { opfsAdapter } from '../adapters/opfs.js';
import { runAdapterConformance } from './conformance/adapter-suite.js';

let counter = 0;
const uniqueRoot = (tag: string) => `test-${tag}-${Date.now().toString(36)}-${++counter}`;
const roots: string[] = [];

async function removeRoot(root: string): Promise<void> {
  const top = await navigator.storage.getDirectory();
  await top.removeEntry(root, { recursive: true }).catch(() => {});
}

afterAll(async () => {
  for (const r of roots) await removeRoot(r);
});

for (const [engine, worker] of [['worker', true], ['main thread', false]] as const) {
  runAdapterConformance(`opfs (${engine})`, async () => {
    const root = uniqueRoot(worker ? 'w' : 'm');
    roots.push(root);
    const adapter = opfsAdapter({ root, worker });
    return {
      adapter,
      reopen: async () => opfsAdapter({ root, worker }),
      teardown: async () => {
        await adapter.close?.();
        await removeRoot(root);
      },
    };
  });
}

describe('opfs adapter engines', () => {
  it('uses the worker by default and the main thread when asked', async () => {
    const a = opfsAdapter({ root: uniqueRoot('mode') });
    const b = opfsAdapter({ root: uniqueRoot('mode'), worker: false });
    expect(await a.mode()).toBe('worker');
    expect(await b.mode()).toBe('main-thread');
    await a.close!();
    await b.close!();
  });
});
