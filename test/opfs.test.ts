/** The OPFS adapter and its format in Node: importing reads no browser global; the format round-trips. */
import { describe, expect, it } from 'vitest';
import { isArchiveStorageError } from '../src/errors.js';
import { encodeBatch, parseRecords, RecordType, segmentName, parseSegmentName } from '../adapters/opfs/format.js';

describe('opfs adapter in Node', () => {
  it('imports without touching browser globals and reports the missing OPFS on first use', async () => {
    const { opfsAdapter } = await import('../adapters/opfs/index.js');
    const adapter = opfsAdapter({ root: 'node' });
    let caught: unknown;
    try {
      await adapter.read('index.json');
    } catch (e) {
      caught = e;
    }
    expect(isArchiveStorageError(caught, 'BACKEND_FAILURE')).toBe(true);
    expect((caught as Error).message).toMatch(/Origin Private File System is not available/);
  });
});

describe('opfs segment format', () => {
  const enc = new TextEncoder();
  const batch = () =>
    encodeBatch(
      [
        { type: RecordType.Put, key: 'objects/aa/bb/x.json', value: enc.encode('{"a":1}'), stamp: 1000, tag: 7 },
        { type: RecordType.Delete, key: 'gone', stamp: 1001, tag: 7 },
        { type: RecordType.Append, key: 'log', value: enc.encode('line\n'), stamp: 1002, tag: 7 },
      ],
      1002,
      7,
    ).bytes;

  it('parses what it encodes, with value offsets into the file', () => {
    const bytes = batch();
    const parsed = parseRecords(bytes, 16);
    expect(parsed.batches).toBe(1);
    expect(parsed.damaged).toBe(false);
    expect(parsed.committedEnd).toBe(16 + bytes.byteLength);
    expect(parsed.records.map((r) => [r.type, r.key, r.stamp, r.tag])).toEqual([
      [RecordType.Put, 'objects/aa/bb/x.json', 1000, 7],
      [RecordType.Delete, 'gone', 1001, 7],
      [RecordType.Append, 'log', 1002, 7],
    ]);
    const put = parsed.records[0]!;
    expect(new TextDecoder().decode(bytes.subarray(put.valueOffset - 16, put.valueOffset - 16 + put.valueLength))).toBe('{"a":1}');
  });

  it('ignores a batch without its commit record, and flags flipped bits as damage', () => {
    const bytes = batch();
    for (let cut = 1; cut < bytes.byteLength; cut += 7) {
      const parsed = parseRecords(bytes.subarray(0, cut), 0);
      expect(parsed.records).toEqual([]);
      expect(parsed.committedEnd).toBe(0);
    }
    const two = new Uint8Array(bytes.byteLength * 2);
    two.set(bytes);
    two.set(bytes, bytes.byteLength);
    two[bytes.byteLength + 40]! ^= 0x01;
    const parsed = parseRecords(two, 0);
    expect(parsed.batches).toBe(1);
    expect(parsed.damaged).toBe(true);
    expect(parsed.committedEnd).toBe(bytes.byteLength);
  });

  it('names segments by writer and sequence', () => {
    expect(parseSegmentName(segmentName('abc123def456ghij', 42))).toEqual({ writer: 'abc123def456ghij', seq: 42 });
    expect(parseSegmentName('notes.txt')).toBeUndefined();
    expect(parseSegmentName('x-00000001.seg.crswap')).toBeUndefined();
  });
});
