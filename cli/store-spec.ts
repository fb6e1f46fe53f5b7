/**
 * Store specs: one string naming a backend and where it lives, like a restic
 * repository.
 *
 * - `./path`, `/abs/path` or `file:<dir>` — node-fs
 * - `sqlite:<file>` — SQLite (needs the optional `better-sqlite3`)
 * - `s3://<bucket>[/<prefix>]` — S3-compatible (endpoint from `--endpoint` or
 *   `$ARCHIVE_S3_ENDPOINT`, region from `--region` or `$AWS_REGION`, credentials
 *   from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, path-style when an endpoint is given)
 * - `memory:` — in memory, for trying things out (gone when the command ends)
 */
import { CliError, EXIT, usageError } from './errors.js';

export type StoreSpec =
  | { kind: 'file'; dir: string }
  | { kind: 'sqlite'; file: string }
  | { kind: 's3'; bucket: string; prefix: string }
  | { kind: 'memory' };

export function parseStoreSpec(spec: string): StoreSpec {
  if (spec === '') throw usageError('empty store spec');
  if (spec === 'memory:' || spec === 'memory') return { kind: 'memory' };
  if (spec.startsWith('file:')) {
    const dir = spec.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (!dir) throw usageError(`store spec ${JSON.stringify(spec)} names no directory`);
    return { kind: 'file', dir };
  }
  if (spec.startsWith('sqlite:')) {
    const file = spec.slice('sqlite:'.length);
    if (!file) throw usageError(`store spec ${JSON.stringify(spec)} names no database file`);
    return { kind: 'sqlite', file };
  }
  if (spec.startsWith('s3://')) {
    const rest = spec.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw usageError(`store spec ${JSON.stringify(spec)}: ${JSON.stringify(bucket)} is not a valid S3 bucket name`);
    }
    return { kind: 's3', bucket, prefix };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(spec);
  // A Windows drive letter (C:\...) is a path, not a scheme.
  if (scheme && !/^[a-z]:[\\/]/i.test(spec)) {
    throw new CliError(
      'UNKNOWN_BACKEND',
      `unknown store backend "${scheme[1]}:" — use a directory path, file:<dir>, sqlite:<file>, s3://<bucket>[/<prefix>] or memory:`,
      EXIT.usage,
    );
  }
  return { kind: 'file', dir: spec };
}

/** Human-readable form of a spec for messages. */
export function describeSpec(spec: StoreSpec): string {
  switch (spec.kind) {
    case 'file':
      return `directory ${spec.dir}`;
    case 'sqlite':
      return `SQLite database ${spec.file}`;
    case 's3':
      return `s3://${spec.bucket}${spec.prefix ? `/${spec.prefix}` : ''}`;
    case 'memory':
      return 'memory';
  }
}
