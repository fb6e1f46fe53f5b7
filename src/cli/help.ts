export const HELP = `archive-storage — content-addressable JSON archive, backups and bundles

Usage: archive-storage [global options] <command> [args]

Global options:
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
  --help, --version

Archive:
  put [--ndjson] [FILE|-]   store one JSON value (or one per line); prints its hash(es)
  get HASH                  print the value as canonical JSON
  has HASH                  exit 0 if present, 1 if not
  rm HASH                   delete an object
  ls                        one hash per line
  stats                     object count, bytes, oldest and newest
  verify [--repair]         re-hash everything; exit 1 and a report on damage
  gc                        remove leftovers (quarantine, stale temporary data)

Exit codes: 0 ok; 1 not found or damage found; 2 usage; 3 bad input
(invalid JSON, invalid or hostile backup or bundle, hash mismatch);
4 backend failure (I/O, lock timeout, quota, backend missing or unreachable).
`;
