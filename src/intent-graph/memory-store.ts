/**
 * The in-memory intent store: the reference behaviour, for tests, scratch
 * work and the browser tab that needs no persistence. Nothing survives it.
 *
 * @module
 */
import type { IntentStore } from './intent-store.js';
import { BaseIntentStore, type GraphState, type IntentStoreOptions } from './store.js';

class MemoryIntentStore extends BaseIntentStore {
  readonly kind = 'memory';

  constructor(options?: IntentStoreOptions) {
    super(options);
  }

  protected async persist(): Promise<void> {
    // Memory is the only copy: applying the change is all there is to do.
  }

  protected async load(): Promise<GraphState> {
    return this.state;
  }
}

/** Creates an empty in-memory {@link IntentStore}. */
export function createMemoryIntentStore(options?: IntentStoreOptions): IntentStore {
  return new MemoryIntentStore(options);
}
