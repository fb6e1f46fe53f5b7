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

Bundles and sync:
  export OUT.zip            the portable bundle (objects, index, manifest, and the
                            intent graph when the store has one), written atomically
  import IN.zip             verify a bundle and add its objects, all or nothing; its
                            intent graph is restored when the store has none yet
  sync --to <spec>          copy every object the target lacks (resumable)

Intent graph:
  backup OUT.json [--note TEXT]   StorageBackupData v1.1 of the intent graph
  restore IN.json                 replace the graph with a backup's (all or nothing)
  intents add FILE|-              store a StorableIntent (JSON)
  intents add --goal TEXT         create a new intent with a generated id
  intents ls [--status S] [--goal-contains T]
  intents show ID | intents rm ID
  intents snapshot                print the RTFS snapshot of the graph
  edges add FROM TO TYPE [--weight W]
  edges ls [ID]

Exit codes: 0 ok; 1 not found or damage found; 2 usage; 3 bad input
(invalid JSON, invalid or hostile backup or bundle, hash mismatch);
4 backend failure (I/O, lock timeout, quota, backend missing or unreachable).
`;
