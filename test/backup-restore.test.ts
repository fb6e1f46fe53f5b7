/// <reference types="vite/client" />
/**
 * StorageBackupData v1.1: the format written, the CCOS backups read, the
 * version and tolerance rules, and hostile input, each refused with a typed
 * error naming the path (or accepted with a documented warning) while the
 * target store stays exactly as it was.
 */
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../adapters/memory.js';
import {
  BACKUP_CREATED_BY,
  InvalidBackupError,
  UnsupportedVersionError,
  backupFileName,
  backupToBlob,
  createBackup,
  createMemoryIntentStore,
  isArchiveStorageError,
  openArchive,
  openArchiveIntentStore,
  openFileIntentStore,
  parseBackup,
  printRtfsSnapshot,
  readBackup,
  readBackupBlob,
  restoreBackup,
  serializeBackup,
  validateBackupData,
  writeBackup,
  type IntentStore,
  type StorageBackupData,
} from '../src/index.js';
import ccosV10 from './fixtures/ccos/storage-backup-v1.0.json?raw';
import ccosV11 from './fixtures/ccos/storage-backup-v1.1.json?raw';
import { makeEdge, makeIntent, sampleGraph } from './support/intent-graph.js';

const json = (v: unknown) => JSON.stringify(v);
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function refusal(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    expect(isArchiveStorageError(e)).toBe(true);
    return e as Error;
  }
  throw new Error('expected a refusal');
}

async function goodBackup(): Promise<StorageBackupData> {
  const store = createMemoryIntentStore();
  await store.replaceAll(sampleGraph());
  return createBackup(store, { manifest: { created_by: 'test' }, now: () => 1_700_000_000_000 });
}

describe('createBackup / serializeBackup', () => {
  it('writes StorageBackupData v1.1 in serde field order, intents sorted by id, pretty-printed', async () => {
    const data = await goodBackup();
    expect(Object.keys(data)).toEqual(['intents', 'edges', 'version', 'timestamp', 'manifest', 'rtfs']);
    expect(data.version).toBe('1.1');
    expect(data.timestamp).toBe(1_700_000_000);
    expect(data.manifest).toEqual({ created_by: 'test', source: null, note: null });
    expect(data.rtfs).toBe(printRtfsSnapshot(sampleGraph()));
    expect(Object.keys(data.intents)).toEqual(Object.keys(sampleGraph().intents).sort());
    expect(Object.keys(data.intents['intent-0']!)).toEqual(Object.keys(makeIntent('x')));
    const text = serializeBackup(data);
    expect(text.startsWith('{\n  "intents": {\n    "intent-0": {\n      "intent_id": "intent-0",\n')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
    const back = parseBackup(text);
    expect(back.warnings).toEqual([]);
    expect(back.graph).toEqual(sampleGraph());
  });

  it('defaults the manifest to archive-storage and can leave out the RTFS snapshot', async () => {
    const store = createMemoryIntentStore();
    const data = await createBackup(store, { rtfs: false });
    expect(data.manifest).toEqual({ created_by: BACKUP_CREATED_BY, source: null, note: null });
    expect(data.rtfs).toBeNull();
    expect(await createBackup(store, { manifest: null })).toMatchObject({ manifest: null });
  });

  it('serializeBackup refuses a document that would not restore', async () => {
    const data = await goodBackup();
    const e = refusal(() => serializeBackup({ ...data, edges: [{ ...makeEdge('a', 'b'), weight: NaN }] }));
    expect((e as InvalidBackupError).path).toBe('$.edges[0].weight');
  });
});

describe('backups written by the original CCOS implementation restore', () => {
  it('v1.1 with manifest and the lossy CCOS rtfs snapshot: every field, no warning', async () => {
    for (const open of [
      async () => createMemoryIntentStore(),
      async () => openFileIntentStore({ adapter: memoryAdapter() }),
      async () => openArchiveIntentStore({ archive: await openArchive(memoryAdapter()) }),
    ]) {
      const store = await open();
      const report = await restoreBackup(store, ccosV11);
      // The CCOS snapshot states fewer fields, but each one it states agrees with the JSON.
      expect(report).toEqual({
        version: '1.1',
        timestamp: 1724230700,
        manifest: { created_by: 'rtfs_compiler', source: null, note: 'Hybrid JSON+RTFS backup' },
        intents: 3,
        edges: 3,
        warnings: [],
      });
      const parent = (await store.get('intent-7f3a'))!;
      expect(parent).toEqual(JSON.parse(ccosV11).intents['intent-7f3a']);
      expect(parent.rtfs_intent_source).toBe('(intent "deploy-release"\n  :goal "Deploy 2.3"\n  :constraints {:window "weekend"})');
      expect((await store.get('intent-c4d8'))!.goal).toBe('Deploy release 2.3 to production (café region first)');
      expect(await store.edges()).toEqual(JSON.parse(ccosV11).edges);
      expect((await store.edges())[1]!.weight).toBe(1);
      expect((await store.list({ status: 'Active' })).map((i) => i.intent_id)).toEqual(['intent-c4d8']);
    }
  });

  it('v1.0 without manifest, rtfs or session_id', async () => {
    const store = createMemoryIntentStore();
    const report = await restoreBackup(store, ccosV10);
    expect(report).toMatchObject({ version: '1.0', manifest: null, intents: 3, edges: 3, warnings: [] });
    expect((await store.get('intent-91c2'))!.session_id).toBeNull();
    const v11 = JSON.parse(ccosV11).intents['intent-91c2'];
    expect(await store.get('intent-91c2')).toEqual({ ...v11, session_id: null });
  });

  it('a CCOS storage file opens as a file store, and what we write back reads the same', async () => {
    const adapter = memoryAdapter();
    await adapter.write('intent-graph.json', new TextEncoder().encode(ccosV11));
    const store = await openFileIntentStore({ adapter });
    expect(store.openWarnings).toEqual([]);
    expect(Object.keys((await store.snapshot()).intents)).toEqual(['intent-7f3a', 'intent-91c2', 'intent-c4d8']);
    const ours = serializeBackup(await store.backup());
    expect(parseBackup(ours).graph).toEqual(parseBackup(ccosV11).graph);
  });
});

describe('versions', () => {
  const doc = (version: unknown) => ({ ...JSON.parse(ccosV10), version });

  it('reads 1.0 and 1.1 silently, a newer 1.x with a warning', () => {
    expect(validateBackupData(doc('1.0')).warnings).toEqual([]);
    expect(validateBackupData(doc('1.1')).warnings).toEqual([]);
    expect(validateBackupData(doc('1.7')).warnings).toEqual([expect.objectContaining({ code: 'NEWER_MINOR_VERSION', path: '$.version' })]);
  });

  it('refuses another major version with UNSUPPORTED_VERSION, before looking at the rest', () => {
    for (const v of ['2.0', '0.9', '10.1']) {
      const e = refusal(() => validateBackupData({ version: v, anything: 'else' }));
      expect(e).toBeInstanceOf(UnsupportedVersionError);
      expect((e as UnsupportedVersionError).version).toBe(v);
      expect(e.message).toContain('1.x');
    }
  });

  it('refuses a malformed or missing version with INVALID_BACKUP at $.version', () => {
    for (const v of [1.1, '1', 'v1.1', '1.1.0', '', null, undefined]) {
      const e = refusal(() => validateBackupData(v === undefined ? { intents: {}, edges: [], timestamp: 0 } : doc(v)));
      expect(e).toBeInstanceOf(InvalidBackupError);
      expect((e as InvalidBackupError).path).toBe('$.version');
    }
  });
});

describe('tolerance', () => {
  it('ignores unknown fields everywhere and says so', () => {
    const d = JSON.parse(ccosV11);
    d.future = { nested: [1, 2] };
    d.intents['intent-7f3a'].embedding = [0.1, 0.2];
    d.intents['intent-7f3a'].generation_context.model = 'x';
    d.edges[0].label = 'why';
    d.manifest.host = 'ci';
    const { graph, warnings } = validateBackupData(d);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'UNKNOWN_FIELDS', path: '$' });
    for (const p of ['$.future', '$.intents["intent-7f3a"].embedding', '$.intents["intent-7f3a"].generation_context.model', '$.edges[0].label', '$.manifest.host']) {
      expect(warnings[0]!.message).toContain(p);
    }
    expect('embedding' in graph.intents['intent-7f3a']!).toBe(false);
  });

  it('accepts manifest and rtfs missing or null, and Option fields missing', () => {
    const d = JSON.parse(ccosV11);
    for (const variant of [{ manifest: null, rtfs: null }, {}]) {
      const v = { ...d, ...variant };
      if (!('manifest' in variant)) {
        delete v.manifest;
        delete v.rtfs;
      }
      const { data } = validateBackupData(v);
      expect(data.manifest).toBeNull();
      expect(data.rtfs).toBeNull();
    }
    delete d.intents['intent-7f3a'].success_criteria;
    delete d.edges[2].weight;
    delete d.edges[2].metadata;
    delete d.manifest.source;
    const { graph } = validateBackupData(d);
    expect(graph.intents['intent-7f3a']!.success_criteria).toBeNull();
    expect(graph.edges[2]).toMatchObject({ weight: null, metadata: null });
  });

  it('skips a leading byte-order mark', () => {
    expect(parseBackup('\ufeff' + ccosV10).graph).toEqual(parseBackup(ccosV10).graph);
  });

  it('keeps a "__proto__" intent id as plain data, polluting nothing', async () => {
    const text = `{"intents":{"__proto__":${json(makeIntent('__proto__'))}},"edges":[],"version":"1.1","timestamp":0}`;
    const store = createMemoryIntentStore();
    await restoreBackup(store, text);
    expect((await store.get('__proto__'))!.intent_id).toBe('__proto__');
    expect(({} as Record<string, unknown>).intent_id).toBeUndefined();
    expect(Object.keys((await store.snapshot()).intents)).toEqual(['__proto__']);
  });
});

/** Every kind of target, pre-filled; `bytes()` is what its backend holds, to prove a refusal changed nothing. */
async function targets(): Promise<{ name: string; store: IntentStore; bytes: () => string }[]> {
  const out: { name: string; store: IntentStore; bytes: () => string }[] = [];
  const dump = (m: Map<string, Uint8Array>) => () => json([...m].map(([k, v]) => [k, Buffer.from(v).toString('base64')]).sort());
  const memory = createMemoryIntentStore();
  out.push({ name: 'memory', store: memory, bytes: () => '' });
  const fileMap = new Map<string, Uint8Array>();
  out.push({ name: 'file', store: await openFileIntentStore({ adapter: memoryAdapter({ store: fileMap }) }), bytes: dump(fileMap) });
  const archiveMap = new Map<string, Uint8Array>();
  out.push({ name: 'archive', store: await openArchiveIntentStore({ archive: await openArchive(memoryAdapter({ store: archiveMap })) }), bytes: dump(archiveMap) });
  for (const t of out) await t.store.replaceAll(sampleGraph());
  return out;
}

/** Restores `input` into every target, expects `code`, and checks that nothing changed. */
async function expectRefusedEverywhere(input: unknown, code: string, path?: string): Promise<Error> {
  let first: Error | undefined;
  for (const t of await targets()) {
    const before = { graph: await t.store.snapshot(), bytes: t.bytes() };
    let caught: unknown;
    try {
      await restoreBackup(t.store, input as StorageBackupData);
    } catch (e) {
      caught = e;
    }
    expect(isArchiveStorageError(caught) ? caught.code : caught, t.name).toBe(code);
    if (path !== undefined) expect((caught as InvalidBackupError).path, t.name).toBe(path);
    expect(await t.store.snapshot(), t.name).toEqual(before.graph);
    expect(t.bytes(), t.name).toBe(before.bytes);
    first ??= caught as Error;
  }
  return first!;
}

describe('hostile restore input: a typed error naming the path, the target untouched', () => {
  it('truncated JSON, at many cut points, with line:column', async () => {
    for (let cut = 1; cut < ccosV11.length; cut += Math.ceil(ccosV11.length / 25)) {
      const e = refusal(() => parseBackup(ccosV11.slice(0, cut)));
      expect(e).toBeInstanceOf(InvalidBackupError);
      expect(e.message).toMatch(/line \d+ column \d+/);
    }
    const e = await expectRefusedEverywhere(ccosV11.slice(0, ccosV11.length / 2), 'INVALID_BACKUP');
    expect(e.message).toContain('not valid backup JSON');
  });

  it('not JSON at all, bad UTF-8, duplicate keys', async () => {
    await expectRefusedEverywhere('<html>', 'INVALID_BACKUP', '$');
    await expectRefusedEverywhere(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'INVALID_BACKUP', '$');
    await expectRefusedEverywhere('{"version":"1.1","version":"1.0"}', 'INVALID_BACKUP', '$');
    await expectRefusedEverywhere(42, 'INVALID_BACKUP', '$');
  });

  it('wrong types, each reported at its path', async () => {
    const base = JSON.parse(ccosV11);
    const cases: [(d: Record<string, any>) => void, string][] = [
      [(d) => (d.timestamp = -1), '$.timestamp'],
      [(d) => (d.timestamp = '1724230700'), '$.timestamp'],
      [(d) => (d.intents = []), '$.intents'],
      [(d) => (d.edges = {}), '$.edges'],
      [(d) => delete d.edges, '$.edges'],
      [(d) => (d.intents['intent-7f3a'].priority = 4294967296), '$.intents["intent-7f3a"].priority'],
      [(d) => (d.intents['intent-7f3a'].priority = '10'), '$.intents["intent-7f3a"].priority'],
      [(d) => (d.intents['intent-7f3a'].status = 'active'), '$.intents["intent-7f3a"].status'],
      [(d) => (d.intents['intent-7f3a'].triggered_by = null), '$.intents["intent-7f3a"].triggered_by'],
      [(d) => (d.intents['intent-7f3a'].child_intents = 'intent-91c2'), '$.intents["intent-7f3a"].child_intents'],
      [(d) => (d.intents['intent-7f3a'].constraints.window = 5), '$.intents["intent-7f3a"].constraints.window'],
      [(d) => delete d.intents['intent-7f3a'].goal, '$.intents["intent-7f3a"].goal'],
      [(d) => (d.intents['intent-7f3a'].generation_context.generation_timestamp = 1.5), '$.intents["intent-7f3a"].generation_context.generation_timestamp'],
      [(d) => (d.edges[1].edge_type = 'depends_on'), '$.edges[1].edge_type'],
      [(d) => (d.edges[1].weight = '1.0'), '$.edges[1].weight'],
      [(d) => (d.edges[1].metadata = ['a']), '$.edges[1].metadata'],
      [(d) => (d.edges[2] = null), '$.edges[2]'],
      [(d) => (d.manifest = 'rtfs_compiler'), '$.manifest'],
      [(d) => delete d.manifest.created_by, '$.manifest.created_by'],
      [(d) => (d.rtfs = 7), '$.rtfs'],
    ];
    for (const [mutate, path] of cases) {
      const d = clone(base);
      mutate(d);
      const e = refusal(() => validateBackupData(d));
      expect((e as InvalidBackupError).path, path).toBe(path);
      expect(e.message.startsWith(`${path}: `)).toBe(true);
    }
    const d = clone(base);
    d.intents['intent-7f3a'].priority = -3;
    await expectRefusedEverywhere(json(d), 'INVALID_BACKUP', '$.intents["intent-7f3a"].priority');
  });

  it('version "2.0"', async () => {
    await expectRefusedEverywhere({ ...JSON.parse(ccosV11), version: '2.0' }, 'UNSUPPORTED_VERSION');
  });

  it('an intents-map key that differs from its intent_id is refused (which one is right is unknowable)', async () => {
    const d = JSON.parse(ccosV11);
    d.intents['intent-7f3a'].intent_id = 'intent-other';
    const e = await expectRefusedEverywhere(d, 'INVALID_BACKUP', '$.intents["intent-7f3a"].intent_id');
    expect(e.message).toContain('differs from its key');
  });

  it('10 MB strings: refused by default (limit 1 MiB per field), accepted when the limit is raised', async () => {
    const d = JSON.parse(ccosV10);
    d.intents['intent-7f3a'].goal = 'g'.repeat(10 * 1024 * 1024);
    const text = JSON.stringify(d);
    const e = await expectRefusedEverywhere(text, 'INVALID_BACKUP', '$.intents["intent-7f3a"].goal');
    expect(e.message).toContain('maxStringLength');
    const store = createMemoryIntentStore({ maxStringLength: 16 * 1024 * 1024 });
    await restoreBackup(store, text, { maxStringLength: 16 * 1024 * 1024 });
    expect((await store.get('intent-7f3a'))!.goal).toHaveLength(10 * 1024 * 1024);
    // A 10 MB map key is a string too.
    const k = JSON.parse(ccosV10);
    k.intents['intent-7f3a'].metadata = { ['k'.repeat(10 * 1024 * 1024)]: 'v' };
    await expectRefusedEverywhere(k, 'INVALID_BACKUP', '$.intents["intent-7f3a"].metadata');
    // The whole text has a limit too.
    expect(refusal(() => parseBackup(text, { maxTextLength: 1024 })).message).toContain('maxTextLength');
  });

  it('deeply nested metadata: refused at the first wrong level, never recursed into', async () => {
    const d = JSON.parse(ccosV10);
    d.intents['intent-7f3a'].metadata = { ticket: { nested: { deeper: 'x' } } };
    await expectRefusedEverywhere(d, 'INVALID_BACKUP', '$.intents["intent-7f3a"].metadata.ticket');
    // 100 000 levels as text: the parser stops at 64 without exhausting the stack.
    const deep = ccosV10.replace('"ticket": "OPS-1432"', `"ticket": ${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    const e = await expectRefusedEverywhere(deep, 'INVALID_BACKUP');
    expect(e.message).toContain('nesting deeper than 64');
    // 100 000 levels as an object in memory: refused at the first level, in an unknown field ignored.
    let nested: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) nested = { n: nested };
    const m = JSON.parse(ccosV10);
    m.intents['intent-7f3a'].metadata = nested;
    await expectRefusedEverywhere(m, 'INVALID_BACKUP', '$.intents["intent-7f3a"].metadata.n');
    const u = JSON.parse(ccosV10);
    u.extension = nested;
    expect(validateBackupData(u).warnings.map((w) => w.code)).toEqual(['UNKNOWN_FIELDS']);
  });

  it('lone surrogates (escaped in the text) are refused', async () => {
    const text = ccosV10.replace('"OPS-1432"', '"OPS-\\ud800"');
    await expectRefusedEverywhere(text, 'INVALID_BACKUP');
  });
});

describe('documented warnings: restored, and told', () => {
  it('edges pointing at unknown intents are kept, with DANGLING_EDGE (CCOS leaves them when deleting an intent)', async () => {
    const d = JSON.parse(ccosV10);
    d.edges.push(makeEdge('intent-7f3a', 'intent-gone'));
    d.intents['intent-91c2'].parent_intent = 'intent-missing';
    const store = createMemoryIntentStore();
    const report = await restoreBackup(store, d);
    expect(report.warnings).toEqual([
      expect.objectContaining({ code: 'DANGLING_EDGE', path: '$.edges[3]' }),
      expect.objectContaining({ code: 'DANGLING_REFERENCE', path: '$.intents["intent-91c2"].parent_intent' }),
    ]);
    expect(report.warnings[0]!.message).toContain('"intent-gone"');
    expect(await store.edgesOf('intent-gone')).toHaveLength(1);
  });

  it('an rtfs snapshot that disagrees with the JSON: the JSON wins, RTFS_MISMATCH says where', async () => {
    const d = JSON.parse(ccosV11);
    d.rtfs = d.rtfs.replace(':priority 9', ':priority 1');
    const store = createMemoryIntentStore();
    const report = await restoreBackup(store, d);
    expect(report.warnings).toEqual([expect.objectContaining({ code: 'RTFS_MISMATCH', path: '$.rtfs' })]);
    expect(report.warnings[0]!.message).toContain('"intent-c4d8"');
    expect(report.warnings[0]!.message).toContain(':priority');
    expect((await store.get('intent-c4d8'))!.priority).toBe(9);
  });

  it('an unreadable rtfs snapshot: RTFS_UNREADABLE, JSON restored', async () => {
    const report = await restoreBackup(createMemoryIntentStore(), { ...JSON.parse(ccosV10), rtfs: '(intent-graph (intents "unterminated' });
    expect(report.warnings.map((w) => w.code)).toEqual(['RTFS_UNREADABLE']);
    expect(report.warnings[0]!.message).toMatch(/line 1 column \d+/);
  });

  it('checkRtfs: false skips the comparison', () => {
    expect(validateBackupData({ ...JSON.parse(ccosV10), rtfs: 'garbage (' }, { checkRtfs: false }).warnings).toEqual([]);
  });
});

describe('backup I/O', () => {
  it('writeBackup puts the whole document under a key with the atomic write; readBackup reads it back', async () => {
    const adapter = memoryAdapter();
    const data = await goodBackup();
    await writeBackup(adapter, 'backups/b1.json', data);
    const back = await readBackup(adapter, 'backups/b1.json');
    expect(back.graph).toEqual(sampleGraph());
    expect(new TextDecoder().decode((await adapter.read('backups/b1.json'))!)).toBe(serializeBackup(data));
    await expect(readBackup(adapter, 'backups/none.json')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // An invalid document is refused before anything is written.
    await expect(writeBackup(adapter, 'backups/b2.json', { ...data, timestamp: -1 })).rejects.toMatchObject({ code: 'INVALID_BACKUP' });
    expect(await adapter.has('backups/b2.json')).toBe(false);
  });

  it('a Blob round trip, strict about UTF-8', async () => {
    const data = await goodBackup();
    const blob = backupToBlob(data);
    expect(blob.type).toBe('application/json');
    expect((await readBackupBlob(blob)).graph).toEqual(sampleGraph());
    await expect(readBackupBlob(new Blob([new Uint8Array([0x22, 0xc3, 0x28, 0x22])]))).rejects.toMatchObject({ code: 'INVALID_BACKUP' });
  });

  it('names backup files portably', () => {
    expect(backupFileName({ timestamp: 1_724_230_700 })).toBe('intent-graph-2024-08-21T08-58-20Z.json');
  });
});
