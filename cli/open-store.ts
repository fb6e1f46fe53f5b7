/** Opens the adapter behind a store spec. Backends are imported only when named, so a missing optional one fails only when chosen. */
import { stat } from 'node:fs/promises';
import type { StorageAdapter } from '../src/adapter/contract.js';
import { CliError, EXIT } from './errors.js';
import { describeSpec, type StoreSpec } from './store-spec.js';

export interface OpenStoreOptions {
  /** Create the store when it does not exist yet (commands that write). */
  create: boolean;
  env: Record<string, string | undefined>;
  endpoint?: string;
  region?: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function noStore(spec: StoreSpec): CliError {
  return new CliError(
    'BACKEND_UNREACHABLE',
    `no store at ${describeSpec(spec)}: store something first (put, import, restore) or give --store`,
    EXIT.notFound,
  );
}

export async function openStoreAdapter(spec: StoreSpec, options: OpenStoreOptions): Promise<StorageAdapter> {
  switch (spec.kind) {
    case 'memory': {
      const { memoryAdapter } = await import('../adapters/memory.js');
      return memoryAdapter();
    }
    case 'file': {
      if (!options.create && !(await exists(spec.dir))) throw noStore(spec);
      const { nodeFsAdapter } = await import('../adapters/node-fs/index.js');
      return nodeFsAdapter({ dir: spec.dir });
    }
    case 'sqlite': {
      if (!options.create && !(await exists(spec.file))) throw noStore(spec);
      const { sqliteAdapter } = await import('../adapters/sqlite.js');
      return sqliteAdapter({ file: spec.file });
    }
    case 's3': {
      const env = options.env;
      const endpoint = options.endpoint ?? env.ARCHIVE_S3_ENDPOINT;
      const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
      const accessKeyId = env.AWS_ACCESS_KEY_ID;
      const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
      if (!accessKeyId || !secretAccessKey) {
        throw new CliError(
          'BACKEND_UNREACHABLE',
          `no credentials for ${describeSpec(spec)}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
          EXIT.backend,
        );
      }
      const { s3Adapter } = await import('../adapters/s3/index.js');
      return s3Adapter({
        bucket: spec.bucket,
        prefix: spec.prefix,
        region,
        credentials: { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN },
        // With an explicit endpoint (MinIO, Garage, s3rver...) path-style; else AWS itself, virtual-hosted.
        endpoint: endpoint ?? `https://s3.${region}.amazonaws.com`,
        pathStyle: endpoint !== undefined,
      });
    }
  }
}
