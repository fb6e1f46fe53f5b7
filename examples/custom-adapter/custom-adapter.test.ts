// The two conformance suites, from the published module, on the example adapter.
import { runAdapterConformance, runArchiveConformance } from 'archive-storage/testing';
import { mapAdapter } from './map-adapter.js';

const harness = async () => {
  const store = new Map<string, Uint8Array>();
  return { adapter: mapAdapter(store), reopen: async () => mapAdapter(store) };
};

runAdapterConformance('example map adapter', harness);
runArchiveConformance('example map adapter', harness);
