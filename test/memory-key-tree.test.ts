// The memory adapter's tree of keys (adapters/memory/key-tree.ts): a listing walks one folder at a
// time, and runs the caller's abort check before each, so an abort during a listing of ten million
// keys is seen after one folder's work, not after a snapshot of the whole prefix.
import { describe, expect, it } from 'vitest';
import { KeyTree } from '../adapters/memory/key-tree.js';

const hex = (i: number) => i.toString(16).padStart(2, '0');

describe('memory adapter KeyTree', () => {
  it('gives the keys under a prefix one folder at a time', () => {
    const t = new KeyTree();
    for (let i = 0; i < 4096; i++) t.add(`objects/${hex(i % 16)}/${hex(i >> 4)}/${i}.json`);
    t.add('objects/AB/x.json');
    t.add('index.json');
    const batches = [...t.under('objects/', () => {})];
    // 16 × 256 hex folders of 1 key each, and objects/AB/.
    expect(batches.length).toBe(16 * 256 + 1);
    expect(batches.every((b) => b.length === 1)).toBe(true);
    expect(batches.flat().length).toBe(4097);
    // Hex folders come in order.
    expect(batches.slice(0, 3).flat()).toEqual(['objects/00/00/0.json', 'objects/00/01/16.json', 'objects/00/02/32.json']);
  });

  it('runs the check before every folder and stops where it throws', () => {
    const t = new KeyTree();
    for (let i = 0; i < 10_000; i++) t.add(`objects/${hex(i % 256)}/${hex((i >> 8) % 256)}/${i}.json`);
    let checks = 0;
    const stop = new Error('aborted');
    const got: string[][] = [];
    expect(() => {
      for (const b of t.under('objects/', () => {
        if (++checks === 5) throw stop;
      }))
        got.push(b);
    }).toThrow(stop);
    // The check before the walk, then one per folder: objects/00/, objects/00/00/, objects/00/01/ ...
    expect(got.flat()).toEqual(['objects/00/00/0.json', 'objects/00/01/256.json']);
  });

  it('counts keys once, and forgets the ones removed', () => {
    const t = new KeyTree();
    t.add('a/b/c');
    t.add('a/b/c');
    t.add('a/bb/d');
    expect(t.size).toBe(2);
    t.remove('a/b/c');
    t.remove('a/b/c');
    t.remove('a/nothing/x');
    expect(t.size).toBe(1);
    expect([...t.under('a/b', () => {})].flat()).toEqual(['a/bb/d']);
    t.remove('a/bb/d');
    expect([...t.under('', () => {})]).toEqual([]);
  });
});
