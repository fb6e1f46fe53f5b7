import { memoryAdapter } from '../adapters/memory.js';
import { runAdapterConformance } from './conformance/adapter-suite.js';

runAdapterConformance('memory', async () => {
  const store = new Map<string, Uint8Array>();
  return { adapter: memoryAdapter({ store }), reopen: async () => memoryAdapter({ store }) };
});
