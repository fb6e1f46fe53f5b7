/**
 * The keys of a memory store as a tree of folders, so that `list(prefix)`
 * visits the keys under the prefix and nothing else: `objects/<aa>/` (one of
 * verify's 256 slices) walks its 256 sub-folders, not the store. Before, keys
 * were grouped by first segment only, and each slice of a verify at ten
 * million objects filtered all ten million keys.
 *
 * Finding a key's folder makes no string for the layout's own keys: a
 * sub-folder named by two lowercase hex digits (`objects/ab/cd/`) is an array
 * slot, and the last other sub-folder found (`objects`, `journal`) is
 * compared in place. A key costs one entry in its folder's Set; a folder left
 * empty is dropped, so deleting keys gives their folders back.
 *
 * @module
 */

/** Hex digit value of a char code (lowercase only: the layout's hashes are lowercase), or -1. */
export function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Index 0-255 of the two-char segment at `pos` when both are lowercase hex digits, else -1. */
function hexPair(s: string, pos: number): number {
  const hi = hexDigit(s.charCodeAt(pos));
  const lo = hexDigit(s.charCodeAt(pos + 1));
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

/** One folder: the keys directly in it and its sub-folders. */
class Folder {
  /** Keys with no further `/` after this folder's path. */
  readonly keys = new Set<string>();
  /** Sub-folders named by two lowercase hex digits, by value (`objects/<aa>/`). */
  hex: (Folder | undefined)[] | undefined;
  /** Other sub-folders by name. */
  named: Map<string, Folder> | undefined;
  /** Sub-folders held (hex and named). */
  folders = 0;
  /** The named sub-folder found last, so the next key of it is found without a slice. */
  private lastChild: Folder | undefined;

  constructor(
    readonly parent: Folder | undefined,
    /** This folder's segment (without `/`). */
    readonly name: string,
  ) {}

  /** The sub-folder named `s[pos, end)`, made when `create`. */
  child(s: string, pos: number, end: number, create: boolean): Folder | undefined {
    if (end - pos === 2) {
      const i = hexPair(s, pos);
      if (i >= 0) {
        let f = this.hex?.[i];
        if (!f && create) {
          this.hex ??= new Array<Folder | undefined>(256).fill(undefined);
          this.hex[i] = f = new Folder(this, s.slice(pos, end));
          this.folders++;
        }
        return f;
      }
    }
    const last = this.lastChild;
    if (last && last.name.length === end - pos && s.startsWith(last.name, pos)) return last;
    const name = s.slice(pos, end);
    let f = this.named?.get(name);
    if (!f && create) {
      (this.named ??= new Map()).set(name, (f = new Folder(this, name)));
      this.folders++;
    }
    if (f) this.lastChild = f;
    return f;
  }

  /** Drops the sub-folder `f` (empty). */
  drop(f: Folder): void {
    const i = f.name.length === 2 ? hexPair(f.name, 0) : -1;
    if (i >= 0 && this.hex?.[i] === f) this.hex[i] = undefined;
    else this.named?.delete(f.name);
    if (this.lastChild === f) this.lastChild = undefined;
    this.folders--;
  }

  /** The sub-folders now (a copy: the walk may drop or add some meanwhile). */
  children(): Folder[] {
    const out: Folder[] = [];
    if (this.hex) for (const f of this.hex) if (f) out.push(f);
    if (this.named) for (const f of this.named.values()) out.push(f);
    return out;
  }
}

/** The keys of one store by folder; see the module doc. */
export class KeyTree {
  private readonly root = new Folder(undefined, '');
  /** Keys held. */
  size = 0;

  /** The folder `key` belongs in (made when `create`), or undefined. */
  private folderOf(key: string, create: boolean): Folder | undefined {
    let f: Folder | undefined = this.root;
    let pos = 0;
    for (;;) {
      const end = key.indexOf('/', pos);
      if (end < 0) return f;
      f = f.child(key, pos, end, create);
      if (!f) return undefined;
      pos = end + 1;
    }
  }

  add(key: string): void {
    const keys = this.folderOf(key, true)!.keys;
    const before = keys.size;
    keys.add(key);
    this.size += keys.size - before;
  }

  remove(key: string): void {
    let f = this.folderOf(key, false);
    if (!f || !f.keys.delete(key)) return;
    this.size--;
    // Give back the folders this left empty.
    while (f.parent && f.keys.size === 0 && f.folders === 0) {
      f.parent.drop(f);
      f = f.parent;
    }
  }

  /**
   * The keys starting with `prefix`, one folder at a time: each array is a
   * snapshot of one folder's matching keys, taken when the walk reaches it,
   * so a folder's writes during the walk cannot disturb it and memory holds
   * one folder's keys, not the prefix's. A key present throughout the walk is
   * in exactly one array (its folder is never empty, so never dropped).
   * `check` runs at every folder (the caller's abort check), so a walk of
   * many folders can stop between any two.
   */
  *under(prefix: string, check: () => void): Generator<string[]> {
    let f: Folder | undefined = this.root;
    let pos = 0;
    for (;;) {
      const end = prefix.indexOf('/', pos);
      if (end < 0) break;
      f = f.child(prefix, pos, end, false);
      if (!f) return;
      pos = end + 1;
    }
    check();
    // The last, partial segment: keys of this folder that start with it, and its sub-folders whose name does.
    const rest = prefix.slice(pos);
    const here: string[] = [];
    for (const k of f.keys) if (rest === '' || k.startsWith(prefix)) here.push(k);
    if (here.length) yield here;
    // Depth first, children pushed last-first so they come out in order (hex folders ascending).
    const stack = f.children().filter((c) => c.name.startsWith(rest)).reverse();
    while (stack.length) {
      const c = stack.pop()!;
      check();
      if (c.keys.size) yield [...c.keys];
      const kids = c.children();
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
    }
  }
}
