/**
 * The CLI's help: the global page (`--help`, `help`) and one page per command
 * (`help put`, `put --help`). Each command has one entry in {@link COMMAND_HELP};
 * the global page lists every entry under its section, so a new command is
 * one entry here (and one in `main.ts`).
 *
 * @module
 */

/** The help of one command. */
export interface CommandHelp {
  /** Where the global page lists it. */
  section: 'Archive' | 'References' | 'Bundles and sync' | 'Intent graph' | 'CCOS archives';
  /** Lines of the global page: `synopsis  summary`. */
  lines: readonly (readonly [synopsis: string, summary: string])[];
  /** The rest of the command's own page. */
  details: string;
}

export const COMMAND_HELP: Record<string, CommandHelp> = {
  put: {
    section: 'Archive',
    lines: [['put [--ndjson] [FILE|-]', 'store one JSON value (or one per line); prints its hash(es)']],
    details: `Reads FILE (or stdin) with the strict parser: duplicate keys, lone surrogates
and numbers a double cannot hold exactly are refused (INVALID_JSON, exit 3).
--ndjson stores one value per line, 1,000 per batch; every line is parsed
first, so a bad line stores nothing.
Memory: at most 8 bytes per input byte + 120 per '{', '[' or ',' + 64 MiB (about
21x the input for typical records, 90x for a text of only tiny values like
[{},{}]). An input that would not fit in Node's heap, or over 512 MiB, is
refused with INPUT_TOO_LARGE (exit 3) before it is parsed;
NODE_OPTIONS=--max-old-space-size=<MiB> gives a larger heap.`,
  },
  get: { section: 'Archive', lines: [['get HASH', 'print the value as canonical JSON']], details: 'Re-hashed on the way: a damaged object is CORRUPT_OBJECT (exit 3), never wrong data.' },
  has: { section: 'Archive', lines: [['has HASH', 'exit 0 if present, 1 if not']], details: 'Prints nothing (with --json: {"hash","present"}).' },
  rm: { section: 'Archive', lines: [['rm HASH', 'delete an object']], details: 'Exit 1 when it was not there.' },
  ls: { section: 'Archive', lines: [['ls', 'one hash per line']], details: 'With --json, one sorted JSON array.' },
  stats: { section: 'Archive', lines: [['stats', 'object count, bytes, oldest and newest']], details: 'Times are when each object was stored, in UTC.' },
  verify: {
    section: 'Archive',
    lines: [['verify [--repair]', 're-hash everything; exit 1 and a report on damage']],
    details: `Prints corrupt:, missing: and orphaned: lines, then "ok" or "damaged".
--repair quarantines corrupt objects and rebuilds the index, then checks
again and says what it did and what is left: exit 0 when nothing is.`,
  },
  gc: {
    section: 'Archive',
    lines: [
      ['gc', 'remove leftovers (quarantine, stale temporary data)'],
      ['gc --unreferenced [--grace DURATION]', 'also delete objects nothing keeps, stored over an hour ago'],
      ['gc --dry-run [--unreferenced]', 'say what gc would delete; change nothing'],
    ],
    details: `Also removes the staging of bundle imports that died more than a day ago.
--unreferenced deletes every object that no reference keeps (current value
or retained history, see 'ref'), no put in flight names and the intent
graph does not use, once it was stored longer ago than --grace (default 1h;
e.g. 90s, 30m, 2d, or milliseconds). A reference set while gc runs keeps its
object. --dry-run prints "would delete HASH" lines and a total (--json: the
report, with wouldDelete) and opens the store read-only.`,
  },
  ref: {
    section: 'References',
    lines: [
      ['ref set NAME HASH [--meta JSON]', 'point NAME at an object (its earlier value goes to the history)'],
      ['ref get NAME', 'print the hash NAME points at'],
      ['ref cas NAME EXPECTED HASH [--meta JSON]', 'set only if NAME is at EXPECTED (- for absent)'],
      ['ref rm NAME', 'delete NAME (its history stays)'],
      ['ref ls [PREFIX]', 'name and hash (tab-separated), in name order'],
      ['ref log NAME', 'version, time, hash (- for deleted), meta: newest first'],
    ],
    details: `A NAME is 1-200 characters: '/'-separated segments of A-Z a-z 0-9 . _ ~ -,
no empty, '.' or '..' segment, none ending in .json (INVALID_KEY, exit 3).
HASH must be an object in the store (NOT_FOUND, exit 1), unless
--allow-missing. --meta is small JSON (at most 1,024 bytes canonical) kept
with this version. ref set and ref cas print the hash (--json: name, hash,
meta, seq, time). ref cas writes nothing when NAME is not at EXPECTED: it
exits 1 with CONFLICT and says where NAME is. The history keeps the last 32
earlier versions of each name. ref get, ls and log only read.`,
  },
  watch: {
    section: 'References',
    lines: [['watch [SINCE]', 'one line per change to objects and references, until Ctrl-C']],
    details: `Prints, tab-separated: kind (put, delete, ref-set, ref-delete), name, hash,
seq ('-' where a change has none) and the change's position (--json: the
change as JSON). Changes of other processes show within about 250 ms.
watch POSITION resumes after that change; a position older than the change
log keeps (1 hour by default) exits with CHANGES_TRIMMED: list what you need
and watch again from now. Damaged change segments are skipped, with a line
on stderr. Opens the store read-only.`,
  },
  export: {
    section: 'Bundles and sync',
    lines: [['export OUT.zip [--created-at T]', 'the portable bundle, written atomically']],
    details: `The bundle holds every object, the index, a manifest and, when the store
has one, the intent graph. Its createdAt (and the graph's timestamp) is now,
else $SOURCE_DATE_EPOCH (unix seconds), else --created-at <ISO time>; pinned,
two exports of one store are byte for byte identical.`,
  },
  import: {
    section: 'Bundles and sync',
    lines: [['import IN.zip [--skip-conflicts]', 'verify a bundle and add its objects and references, all or nothing']],
    details: `Every byte is verified before anything is committed; a refused bundle
(BUNDLE_*, exit 3) leaves the store as it was, and creates none. References
are created, or advanced when this store holds an earlier version of the same
history; one on another history is a conflict: one line per name on stdout,
the whole import refused (CONFLICT, exit 1), unless --skip-conflicts keeps
those names as they are and imports the rest. Its intent graph is restored
only into a store that has none yet.`,
  },
  sync: {
    section: 'Bundles and sync',
    lines: [['sync --to <spec>', 'copy every object and reference the target lacks (resumable)']],
    details: 'Each object is re-hashed on the way; a second run copies only what is left. References only fast-forward: one on another history at the target is listed (conflict ...) and not moved, and sync exits 1.',
  },
  backup: {
    section: 'Intent graph',
    lines: [['backup OUT.json [--note TEXT]', 'StorageBackupData v1.1 of the intent graph']],
    details: 'Written atomically. Its timestamp honours $SOURCE_DATE_EPOCH.',
  },
  restore: { section: 'Intent graph', lines: [['restore IN.json', "replace the graph with a backup's (all or nothing)"]], details: 'Reads v1.0 and v1.1; warnings go to stderr.' },
  intents: {
    section: 'Intent graph',
    lines: [
      ['intents add FILE|-', 'store a StorableIntent (JSON)'],
      ['intents add --goal TEXT', 'create a new intent, id intent-<16 hex>'],
      ['intents set ID [--status S] [--goal T] [--priority N] [--name T]', 'change fields'],
      ['intents ls [--status S] [--goal-contains T]', 'id, status, priority, goal (tab-separated)'],
      ['intents show ID | intents rm ID', 'one intent as JSON / delete it'],
      ['intents snapshot', 'print the RTFS snapshot of the graph'],
    ],
    details: `Statuses: Active, Executing, Completed, Failed, Archived, Suspended.
intents set stamps updated_at; --priority is an integer 0..4294967295, and
--name "" clears the name. In intents ls, tabs, newlines and backslashes
inside a field are printed as \\t, \\n and \\\\.`,
  },
  edges: {
    section: 'Intent graph',
    lines: [
      ['edges add FROM TO TYPE [--weight W]', 'add an edge between two existing intents'],
      ['edges rm FROM TO TYPE [--weight W] [--all]', 'remove one matching edge (or all)'],
      ['edges ls [ID]', 'from, to, type, weight (tab-separated)'],
    ],
    details: `Types: DependsOn, IsSubgoalOf, ConflictsWith, Enables, RelatedTo, TriggeredBy,
Blocks. W is a decimal number a double holds exactly (-0.5, 2, 1e-7); hex,
padding and digits beyond a double's precision are refused. A duplicate or
a self edge is stored, as CCOS allows, with a warning on stderr.`,
  },
  'import-ccos': {
    section: 'CCOS archives',
    lines: [['import-ccos DIR [--report FILE] [--skip-invalid] [--replace]', "copy a CCOS archive directory into the store, all or nothing"]],
    details: `DIR is a CCOS FileArchiveStorage (intents/ and edges/) or a FileArchive
(index.json and <aa>/<bb>/<hash>.json files). It is only read: nothing is
written, locked or swept there. Every file is checked by CCOS's rule (its
bytes without whitespace hash to its name; the index names exactly
<aa>/<bb>/<hash>.json; no symbolic links, no '..') and as an intent or edge,
before the store is touched or created. Then the objects go into the store at
their canonical addresses and the intents and edges into its intent graph:
merged (imported intents replace those with the same id; an edge already
there is not added twice), or with --replace, the graph becomes DIR's.
A refused file (INVALID_BACKUP or CORRUPT_OBJECT naming its path, exit 3)
imports nothing; --skip-invalid leaves such files out and lists them.
--report FILE writes the report as JSON: each CCOS hash -> canonical hash,
every object, what was skipped and the warnings (--json prints it on stdout).
Ctrl+C (exit 130) leaves the store as it was.`,
  },
  'export-ccos': {
    section: 'CCOS archives',
    lines: [['export-ccos DIR [--overwrite]', "write the intent graph as a CCOS FileArchiveStorage"]],
    details: `Writes DIR/intents/ and DIR/edges/ byte for byte as CCOS's FileArchive does
(pretty serde JSON, named by the SHA-256 of the compact JSON; index.json
last, so CCOS sees the old graph or the new one). DIR must be empty or
absent; --overwrite replaces a CCOS FileArchiveStorage there, and refuses
(INVALID_ARGUMENT, exit 3, nothing written) when DIR holds anything else.
The store is only read.`,
  },
};

const GLOBAL_OPTIONS = `Global options:
  --store <spec>     where the archive lives (default $ARCHIVE_STORE, else ./.archive):
                       <dir> or file:<dir>      a directory (node-fs)
                       sqlite:<file>            a SQLite database (needs better-sqlite3)
                       s3://<bucket>[/<prefix>] S3-compatible storage
                       memory:                  in memory, for trying things out
  --endpoint <url>   S3 endpoint (default $ARCHIVE_S3_ENDPOINT; path-style addressing)
  --region <name>    S3 region (default $AWS_REGION, else us-east-1)
  --json             machine-readable output (errors too)
  --quiet            no informational messages
  --no-progress      no progress bar (it is drawn only when stderr is a terminal)
  --help, --version  this page (help COMMAND or COMMAND --help for one command)`;

export const EXIT_CODES = `Exit codes:
  0    ok
  1    not found (a value, an intent, a store, a reference), verify/sync
       found damage, or ref cas found NAME at another hash (CONFLICT)
  2    usage (unknown command or option, wrong arguments)
  3    bad input (invalid JSON, invalid or hostile backup or bundle, hash
       mismatch, a file given as a store, an input over the size limit,
       a store holding data this SDK did not write: FOREIGN_LAYOUT)
  4    backend failure (I/O, lock timeout, quota, backend missing or unreachable)
  130  interrupted (Ctrl+C); what was committed stays committed`;

const SECTIONS: readonly CommandHelp['section'][] = ['Archive', 'References', 'Bundles and sync', 'Intent graph', 'CCOS archives'];

function listing(entries: readonly CommandHelp[]): string {
  const rows = entries.flatMap((e) => e.lines);
  const width = Math.min(34, Math.max(...rows.map(([s]) => s.length)));
  return rows.map(([s, what]) => (s.length > width ? `  ${s}\n  ${' '.repeat(width)}  ${what}` : `  ${s.padEnd(width)}  ${what}`)).join('\n');
}

/** The global help page. */
export function globalHelp(): string {
  const parts = ['archive-storage — content-addressable JSON archive, backups and bundles', 'Usage: archive-storage [global options] <command> [args]', GLOBAL_OPTIONS];
  for (const section of SECTIONS) {
    const entries = Object.values(COMMAND_HELP).filter((e) => e.section === section);
    if (entries.length) parts.push(`${section}:\n${listing(entries)}`);
  }
  parts.push(EXIT_CODES);
  return `${parts.join('\n\n')}\n`;
}

/** The help page of `command`, or undefined when there is no such command. */
export function commandHelp(command: string): string | undefined {
  const entry = Object.hasOwn(COMMAND_HELP, command) ? COMMAND_HELP[command] : undefined;
  if (!entry) return undefined;
  const usage = entry.lines.map(([synopsis, what]) => `  archive-storage ${synopsis}\n      ${what}`).join('\n');
  return `Usage:\n${usage}\n\n${entry.details}\n\nGlobal options and exit codes: archive-storage --help\n`;
}
