/**
 * Reading a CCOS FileArchive or FileArchiveStorage through any adapter,
 * read-only (`list`, `read`, `has` only), and checking every object by CCOS's
 * own rule: the file without its insignificant whitespace hashes (SHA-256) to
 * its name, and `index.json` names exactly `<aa>/<bb>/<hash>.json`.
 *
 * The scan finds problems (refused unless the caller skips them) and warnings
 * (what CCOS itself leaves behind, imported as CCOS would read it); it never
 * throws for one bad object, so a report can list them all. What cannot be
 * skipped (an unreadable `index.json`, a directory that is not CCOS's, limits
 * of the whole import) throws at once.
 *
 * @module
 */
import type { StorageAdapter } from '../adapter/contract.js';
import { InvalidArgumentError, InvalidBackupError, throwIfAborted } from '../errors.js';
import { sha256Hex } from '../hash.js';
import { mapLimit } from '../internal/pool.js';
import { canonicalBytes, parseJson, type JsonValue } from '../json/canonical.js';
import { hasOwn } from '../intent-graph/schema.js';
import type { Edge, StorableIntent } from '../intent-graph/types.js';
import { validateEdge, validateIntent } from '../intent-graph/validate.js';
import { CCOS_HASH, CCOS_INDEX_FILE, CCOS_STORAGE_SECTIONS, ccosObjectPath, hashOfCcosObjectPath, isCcosHousekeeping, unsafePathReason } from './layout.js';
import { stripJsonWhitespace } from './serde-json.js';
import type { CcosImportOptions, CcosLayout, CcosObjectKind, CcosProblem, CcosProblemCode, CcosWarning, CcosLimits } from './types.js';

/** Default limits of an import (see {@link CcosLimits}). */
export const DEFAULT_CCOS_LIMITS: Readonly<Required<CcosLimits>> = Object.freeze({
  maxObjectBytes: 16 * 1024 * 1024,
  maxIndexBytes: 64 * 1024 * 1024,
  maxTotalBytes: 512 * 1024 * 1024,
  maxFiles: 1_000_000,
});

/** One verified CCOS object. */
export interface ScannedObject {
  /** Adapter key of the file. */
  key: string;
  /** Path inside the CCOS directory, e.g. `intents/ab/cd/<hash>.json`. */
  path: string;
  ccosHash: string;
  kind: CcosObjectKind;
  /** The value as CCOS wrote it (unknown fields kept). */
  value: JsonValue;
  intent?: StorableIntent;
  edge?: Edge;
  /** RFC 8785 bytes of `value` and their hash: the object's address in the SDK's archive. */
  canonical: Uint8Array;
  canonicalHash: string;
  /** Bytes of the CCOS file. */
  size: number;
}

/** What {@link scanCcos} found. */
export interface CcosScan {
  layout: CcosLayout;
  objects: ScannedObject[];
  problems: CcosProblem[];
  warnings: CcosWarning[];
}

interface Section {
  base: string;
  kind: 'intent' | 'edge' | 'auto';
}

const decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true });
const MAX_DEPTH = 64;

function limitsOf(options: CcosImportOptions): Required<CcosLimits> {
  const out = { ...DEFAULT_CCOS_LIMITS, ...options.limits };
  for (const [name, v] of Object.entries(out)) {
    if (typeof v !== 'number' || !(v > 0)) throw new InvalidArgumentError(`importCcosArchive: limits.${name} must be a positive number, got ${String(v)}`);
  }
  return out;
}

function detectLayout(prefix: string, rels: readonly string[], wanted: CcosImportOptions['layout']): CcosLayout {
  if (wanted === 'FileArchive' || wanted === 'FileArchiveStorage') return wanted;
  const where = prefix === '' ? 'the adapter root' : JSON.stringify(prefix);
  if (rels.some((r) => CCOS_STORAGE_SECTIONS.some((s) => r.startsWith(s.base)))) return 'FileArchiveStorage';
  // The SDK's own layout has an index.json at its root too: tell it apart first.
  const sdk = rels.some((r) => r.startsWith('objects/') || r.startsWith('journal/'));
  if (!sdk && rels.some((r) => r === CCOS_INDEX_FILE || hashOfCcosObjectPath(r) !== undefined)) return 'FileArchive';
  if (rels.length === 0) throw new InvalidBackupError(prefix || '.', `${where} is empty: there is no CCOS FileArchive or FileArchiveStorage to import`);
  throw new InvalidBackupError(
    prefix || '.',
    `${where} is not a CCOS archive: expected intents/ and edges/ folders (FileArchiveStorage) or index.json with <aa>/<bb>/<hash>.json files (FileArchive)` +
      (sdk ? '; it looks like an archive-storage archive: open it with openArchive instead' : `; found e.g. ${JSON.stringify(rels[0])}`),
  );
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(section: Section, value: JsonValue): CcosObjectKind {
  if (section.kind !== 'auto') return section.kind;
  if (!isPlainObject(value)) return 'object';
  if (hasOwn(value, 'intent_id')) return 'intent';
  if (hasOwn(value, 'from') && hasOwn(value, 'to') && hasOwn(value, 'edge_type')) return 'edge';
  return 'object';
}

class Scanner {
  readonly problems: CcosProblem[] = [];
  readonly warnings: CcosWarning[] = [];
  readonly objects: ScannedObject[] = [];
  private totalBytes = 0;
  private done = 0;

  constructor(
    private readonly source: StorageAdapter,
    private readonly prefix: string,
    private readonly options: CcosImportOptions,
    private readonly limits: Required<CcosLimits>,
  ) {}

  private problem(code: CcosProblemCode, path: string, message: string, extra?: Partial<CcosProblem>): void {
    this.problems.push({ code, path, message: `${path}: ${message}`, ...extra });
  }

  private warn(code: CcosWarning['code'], path: string, message: string): void {
    this.warnings.push({ code, path, message: `${path}: ${message}` });
  }

  private async readIndex(path: string): Promise<Map<string, unknown>> {
    const signal = this.options.signal;
    const key = this.prefix + path;
    const declared = await this.options.sizeOf?.(key, { signal });
    if (declared !== undefined && declared > this.limits.maxIndexBytes) {
      throw new InvalidBackupError(path, `index of ${declared} bytes is larger than the limit of ${this.limits.maxIndexBytes} (limits.maxIndexBytes)`);
    }
    const bytes = await this.source.read(key, { signal });
    if (bytes === undefined) throw new InvalidBackupError(path, 'the index disappeared during the import; nothing was imported, try again');
    if (bytes.length > this.limits.maxIndexBytes) {
      throw new InvalidBackupError(path, `index of ${bytes.length} bytes is larger than the limit of ${this.limits.maxIndexBytes} (limits.maxIndexBytes)`);
    }
    let doc: JsonValue;
    try {
      doc = parseJson(decoder.decode(bytes), { maxDepth: 4 });
    } catch (e) {
      throw new InvalidBackupError(path, `not a CCOS index (a JSON map of hash -> path): ${(e as Error).message}`, { cause: e });
    }
    if (!isPlainObject(doc)) throw new InvalidBackupError(path, 'not a CCOS index: expected a JSON object mapping each hash to its relative path');
    return new Map(Object.keys(doc).map((k) => [k, doc[k]]));
  }

  /** Checks one FileArchive's index and lists its object files; returns the object paths to read. */
  private async section(section: Section, rels: Set<string>): Promise<{ path: string; hash: string; kind: Section['kind'] }[]> {
    const signal = this.options.signal;
    const inSection = [...rels].filter((r) => r.startsWith(section.base)).map((r) => r.slice(section.base.length));
    const files = new Set(inSection);
    const indexPath = section.base + CCOS_INDEX_FILE;
    let indexed: Map<string, unknown> | undefined;
    if (files.has(CCOS_INDEX_FILE)) indexed = await this.readIndex(indexPath);
    else if (inSection.length > 0) this.warn('NO_INDEX', indexPath, 'missing: the objects were imported from the file listing (CCOS itself would show this archive as empty)');

    for (const [hash, rel] of indexed ?? []) {
      throwIfAborted(signal);
      const at = `${indexPath} entry ${JSON.stringify(hash.slice(0, 80))}`;
      if (!CCOS_HASH.test(hash)) {
        this.problem('OUTSIDE_LAYOUT', indexPath, `entry ${JSON.stringify(hash.slice(0, 80))} is not a lowercase SHA-256 hex hash`);
        continue;
      }
      if (typeof rel !== 'string') {
        this.problem('OUTSIDE_LAYOUT', indexPath, `entry ${hash} names ${JSON.stringify(rel)}, not a relative path`, { hash });
        continue;
      }
      const unsafe = unsafePathReason(rel);
      if (unsafe !== undefined) {
        this.problem('UNSAFE_PATH', indexPath, `entry ${hash} names ${JSON.stringify(rel.slice(0, 200))}: ${unsafe}; refused, nothing was read there`, { hash });
        continue;
      }
      if (rel !== ccosObjectPath(hash)) {
        this.problem('OUTSIDE_LAYOUT', indexPath, `entry ${hash} names ${JSON.stringify(rel.slice(0, 200))}, not its shard path ${ccosObjectPath(hash)}; refused, nothing was read there`, { hash });
        continue;
      }
      if (files.has(rel)) continue;
      // Not in the listing: a symbolic link, a special file, or gone. Only a regular file inside the tree is ever read.
      if (await this.source.has(this.prefix + section.base + rel, { signal })) {
        this.problem('NOT_A_FILE', section.base + rel, `named by ${at}, but not a regular file inside the archive directory (a symbolic link?); refused, it was not read`, { hash });
      } else {
        this.warn('MISSING_OBJECT', section.base + rel, `named by ${indexPath} but absent (CCOS leaves such entries when it deletes an intent); skipped, as CCOS skips it`);
      }
    }

    const toRead: { path: string; hash: string; kind: Section['kind'] }[] = [];
    for (const rel of inSection) {
      if (rel === CCOS_INDEX_FILE) continue;
      const path = section.base + rel;
      if (isCcosHousekeeping(rel)) {
        this.warn('IGNORED_FILE', path, 'a CCOS lock, temp or sidecar file; ignored');
        continue;
      }
      const hash = hashOfCcosObjectPath(rel);
      if (hash === undefined) {
        this.problem('OUTSIDE_LAYOUT', path, `not part of a CCOS FileArchive (objects are <aa>/<bb>/<sha256>.json, the index is index.json)`);
        continue;
      }
      if (indexed !== undefined && !indexed.has(hash)) {
        this.warn('UNINDEXED_OBJECT', path, `not named by ${indexPath} (CCOS stopped between writing it and its index); imported`);
      }
      toRead.push({ path, hash, kind: section.kind });
    }
    return toRead;
  }

  private async readObject(item: { path: string; hash: string; kind: Section['kind'] }, total: number): Promise<void> {
    const { path, hash } = item;
    const signal = this.options.signal;
    const key = this.prefix + path;
    const max = this.limits.maxObjectBytes;
    const declared = await this.options.sizeOf?.(key, { signal });
    if (declared !== undefined && declared > max) {
      this.problem('TOO_LARGE', path, `${declared} bytes, more than the limit of ${max} for one object (limits.maxObjectBytes); refused without reading it`, { hash });
      return;
    }
    const bytes = await this.source.read(key, { signal });
    if (bytes === undefined) {
      this.problem('NOT_A_FILE', path, 'listed, but gone when read (changed during the import?)', { hash });
      return;
    }
    if (bytes.length > max) {
      this.problem('TOO_LARGE', path, `${bytes.length} bytes, more than the limit of ${max} for one object (limits.maxObjectBytes)`, { hash });
      return;
    }
    this.totalBytes += bytes.length;
    if (this.totalBytes > this.limits.maxTotalBytes) {
      throw new InvalidBackupError(path, `the CCOS objects exceed ${this.limits.maxTotalBytes} bytes in all (limits.maxTotalBytes); nothing was imported`);
    }
    let value: JsonValue;
    try {
      value = parseJson(decoder.decode(bytes), { maxDepth: MAX_DEPTH });
    } catch (e) {
      this.problem('NOT_JSON', path, `not a CCOS object: ${e instanceof TypeError ? 'the bytes are not UTF-8' : (e as Error).message}`, { hash });
      return;
    }
    const actual = sha256Hex(stripJsonWhitespace(bytes));
    if (actual !== hash) {
      this.problem('HASH_MISMATCH', path, `the file without whitespace hashes to ${actual}, not to its name: the object is corrupt or was edited`, { hash, actual });
      return;
    }
    const kind = kindOf({ base: '', kind: item.kind }, value);
    const out: ScannedObject = { key, path, ccosHash: hash, kind, value, canonical: new Uint8Array(), canonicalHash: '', size: bytes.length };
    try {
      if (kind === 'intent') out.intent = validateIntent(value, { maxStringLength: this.options.maxStringLength });
      else if (kind === 'edge') out.edge = validateEdge(value, { maxStringLength: this.options.maxStringLength });
    } catch (e) {
      if (!(e instanceof InvalidBackupError)) throw e;
      this.problem('INVALID_ENTITY', path, `not a valid ${kind === 'intent' ? 'StorableIntent' : 'Edge'}: ${e.message}`, { hash });
      return;
    }
    out.canonical = canonicalBytes(value);
    out.canonicalHash = sha256Hex(out.canonical);
    this.objects.push(out);
    this.done++;
    this.options.onProgress?.({ phase: 'verify', done: this.done, total });
  }

  async run(): Promise<CcosScan> {
    const { signal } = this.options;
    const rels = new Set<string>();
    for await (const key of this.source.list(this.prefix, { signal })) {
      rels.add(key.slice(this.prefix.length));
      if (rels.size > this.limits.maxFiles) {
        throw new InvalidBackupError(this.prefix || '.', `more than ${this.limits.maxFiles} files (limits.maxFiles); nothing was imported`);
      }
    }
    this.options.onProgress?.({ phase: 'list', done: rels.size, total: rels.size });
    const layout = detectLayout(this.prefix, [...rels], this.options.layout);
    const sections: Section[] = layout === 'FileArchiveStorage' ? CCOS_STORAGE_SECTIONS.map((s) => ({ ...s })) : [{ base: '', kind: 'auto' }];
    if (layout === 'FileArchiveStorage') {
      for (const rel of rels) {
        if (!sections.some((s) => rel.startsWith(s.base))) this.problem('OUTSIDE_LAYOUT', rel, 'not part of a CCOS FileArchiveStorage (which holds only intents/ and edges/)');
      }
    }
    const toRead: { path: string; hash: string; kind: Section['kind'] }[] = [];
    for (const section of sections) toRead.push(...(await this.section(section, rels)));
    toRead.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    await mapLimit(toRead, this.options.concurrency ?? 8, (item) => this.readObject(item, toRead.length), signal);
    this.objects.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { layout, objects: this.objects, problems: this.problems, warnings: this.warnings };
  }
}

/**
 * Reads and verifies the CCOS directory under `prefix` on `source` (see the
 * module notes). Only `list`, `read` and `has` are called.
 */
export async function scanCcos(source: StorageAdapter, options: CcosImportOptions = {}): Promise<CcosScan> {
  const prefix = options.prefix ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && !prefix.endsWith('/'))) {
    throw new InvalidArgumentError(`importCcosArchive: prefix must be '' or end with '/', got ${JSON.stringify(prefix)}`);
  }
  return new Scanner(source, prefix, options, limitsOf(options)).run();
}
