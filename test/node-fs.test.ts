import { createFsFromVolume, Volume } from 'memfs';
import { nodeFsAdapter, type FsLike } from '../adapters/node-fs/index.js';
import { runAdapterConformance, runArchiveConformance } from '../src/testing/index.js';
import { makeTempDir } from './support/fs-tmp.js';

const memfs = () => createFsFromVolume(new Volume()) as unknown as FsLike;

runAdapterConformance('node-fs on memfs', async () => {
  const fs = memfs();
  return { adapter: nodeFsAdapter({ dir: '/archive', fs }), reopen: async () => nodeFsAdapter({ dir: '/archive', fs }) };
});

runAdapterConformance('node-fs on disk (durable)', async () => {
  const { dir, cleanup } = await makeTempDir('conf');
  const adapter = nodeFsAdapter({ dir });
  return { adapter, reopen: async () => nodeFsAdapter({ dir }), teardown: async () => (await adapter.close(), cleanup()) };
});

runArchiveConformance('node-fs on memfs', async () => {
  const fs = memfs();
  return { adapter: nodeFsAdapter({ dir: '/archive', fs }), reopen: async () => nodeFsAdapter({ dir: '/archive', fs }) };
});

runArchiveConformance('node-fs on disk (durable)', async () => {
  const { dir, cleanup } = await makeTempDir('arch');
  const adapter = nodeFsAdapter({ dir });
  return { adapter, reopen: async () => nodeFsAdapter({ dir }), teardown: async () => (await adapter.close(), cleanup()) };
});

runArchiveConformance('node-fs on disk (durable: false)', async () => {
  const { dir, cleanup } = await makeTempDir('scratch');
  const adapter = nodeFsAdapter({ dir, durable: false });
  return { adapter, reopen: async () => nodeFsAdapter({ dir, durable: false }), teardown: async () => (await adapter.close(), cleanup()) };
});
