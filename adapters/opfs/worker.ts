/**
 * The dedicated worker of the OPFS adapter: hosts a {@link PackEngine} in
 * `sync` mode (sync access handles exist only in workers) behind a
 * {@link PackService}, and answers the adapter over `postMessage`.
 *
 * Protocol (adapter → worker):
 * - first the worker says `{ type: 'loaded' }` once its module has run and it
 *   listens; the adapter sends nothing before that (Firefox can drop a message
 *   that reaches a module worker while its module is still loading, and the
 *   adapter then waited for `ready` forever)
 * - `{ type: 'open', root, options }` → `{ type: 'ready' }`, `{ type: 'unsupported', error }` (a sync
 *   access handle did not open: tried, not sniffed) or `{ type: 'open-failed', error }`
 * - `{ type: 'call', id, requests }` → `{ type: 'result', id, results }` (read bytes transferred, not copied)
 * - `{ type: 'close' }` → `{ type: 'closed' }`, then the worker ends.
 *
 * @module
 */
import { PackEngine, type EngineOptions } from './engine.js';
import { storageManager } from '../../src/platform.js';
import { PackService, toWireError, type EngineRequest, type EngineResult } from './service.js';

/** Messages the adapter sends. */
export type ToWorker =
  | { type: 'open'; options: Omit<EngineOptions, 'mode'> }
  | { type: 'call'; id: number; requests: EngineRequest[] }
  | { type: 'close' };

/** Messages the worker sends back. */
export type FromWorker =
  /** The worker's module has run: it listens from now on. */
  | { type: 'loaded' }
  | { type: 'ready' }
  | { type: 'open-failed'; error: ReturnType<typeof toWireError> }
  /** Sync access handles do not open here (tried, not sniffed): the adapter falls back or refuses. */
  | { type: 'unsupported'; error: ReturnType<typeof toWireError> }
  | { type: 'result'; id: number; results: EngineResult[] }
  | { type: 'closed' };

interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;
let service: PackService | undefined;
let opening: Promise<void> | undefined;

/** Name of the throw-away file the probe opens (not a segment name, so no engine ever reads it). */
const PROBE_PREFIX = '.sync-probe-';

/**
 * Proves that a sync access handle really opens in `root`, by opening one on a
 * throw-away file: the method can exist and still refuse (WebKitGTK on Linux
 * rejects every `createSyncAccessHandle` with `NotSupportedError: Backend does
 * not support this operation`). Checking for the method, as this worker once
 * did, reported ready and let the first write fail.
 */
async function proveSyncHandles(root: string): Promise<void> {
  const handle = (globalThis as { FileSystemFileHandle?: { prototype: object } }).FileSystemFileHandle;
  if (!handle || !('createSyncAccessHandle' in handle.prototype)) {
    throw Object.assign(new Error("createSyncAccessHandle is not available in this browser's workers"), { name: 'NotSupportedError' });
  }
  const top = await storageManager()!.getDirectory();
  const dir = await top.getDirectoryHandle(root, { create: true });
  const name = `${PROBE_PREFIX}${Math.random().toString(36).slice(2)}`;
  const file = (await dir.getFileHandle(name, { create: true })) as FileSystemFileHandle & { createSyncAccessHandle(): Promise<{ close(): void }> };
  try {
    (await file.createSyncAccessHandle()).close();
  } finally {
    await dir.removeEntry(name).catch(() => {});
  }
}

scope.onmessage = (event) => {
  const msg = event.data;
  if (msg.type === 'open') {
    opening = (async () => {
      try {
        try {
          await proveSyncHandles(msg.options.root);
        } catch (error) {
          scope.postMessage({ type: 'unsupported', error: toWireError(error) });
          return;
        }
        service = new PackService(await PackEngine.open({ ...msg.options, mode: 'sync' }));
        scope.postMessage({ type: 'ready' });
      } catch (error) {
        scope.postMessage({ type: 'open-failed', error: toWireError(error) });
      }
    })();
  } else if (msg.type === 'call') {
    void (async () => {
      await opening;
      const results = service
        ? await service.run(msg.requests)
        : msg.requests.map((): EngineResult => ({ ok: false, error: { code: 'BACKEND_FAILURE', name: 'Error', message: 'the OPFS worker did not open' } }));
      // Read bytes go back transferred: no copy on the way out.
      const transfer: Transferable[] = [];
      for (const r of results) if (r.ok && r.value instanceof Uint8Array && r.value.byteLength > 0) transfer.push(r.value.buffer as ArrayBuffer);
      scope.postMessage({ type: 'result', id: msg.id, results }, transfer);
    })();
  } else if (msg.type === 'close') {
    void (async () => {
      await opening;
      await service?.close();
      scope.postMessage({ type: 'closed' });
      scope.close();
    })();
  }
};

// Only now does the worker listen: tell the adapter it may send.
scope.postMessage({ type: 'loaded' });
