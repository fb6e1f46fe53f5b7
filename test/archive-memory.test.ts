import { memoryAdapter } from '../adapters/memory.js';
import { runArchiveConformance } from './conformance/archive-suite.js';

runArchiveConformance('memory', async () => {
  const store = new Map<string, Uint8Array>();
  return { adapter: memoryAdapter({ store }), reopen: async () => memoryAdapter({ store }) };
});
