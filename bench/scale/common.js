// Shared by the scale bench's Node child (level.js) and its page (bench/browser/scale.js):
// the values, medians, and which index format an archive wrote. No Node or DOM APIs.

/** Canonical size of every value. */
export const VALUE_BYTES = 200;

/** A distinct JSON value of exactly VALUE_BYTES canonical bytes: {"n":<n>,"pad":"xxx…"}. */
export function value(n) {
  return { n, pad: 'x'.repeat(VALUE_BYTES - 15 - String(n).length) };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The index format the archive wrote, read through the adapter: `index.json`'s `version` (and
 * `format`, v2), and its size. A v1 index is one big document (189 MB at 1M objects): only its
 * tail is decoded — canonical JSON sorts keys, so `"version"` is its last member.
 */
export async function indexFormat(adapter) {
  const bytes = await adapter.read('index.json');
  if (!bytes) return { version: 'none', bytes: 0 };
  const size = bytes.byteLength;
  if (size < 1 << 20) {
    try {
      const root = JSON.parse(new TextDecoder().decode(bytes));
      return { version: root.version, format: root.format, bytes: size, runs: Array.isArray(root.runs) ? root.runs.length : undefined };
    } catch {
      return { version: 'unreadable', bytes: size };
    }
  }
  const tail = new TextDecoder().decode(bytes.subarray(size - 256));
  const m = /"version":\s*("?[\w.]+"?)\s*\}\s*$/.exec(tail);
  return { version: m ? JSON.parse(m[1]) : 'unknown', bytes: size };
}
