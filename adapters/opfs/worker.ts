/**
 * The dedicated worker of the OPFS adapter: hosts a {@link PackEngine} in
 * `sync` mode (sync access handles exist only in workers) behind a
 * {@link PackService}, and answers the adapter over `postMessage`.
 *
 * Protocol (adapter → worker):
 * - `{ type: 'open', root, options }` → `{ type: 'ready' }` or `{ type: 'open-failed', error }`
 * - `{ type: 'call', id, requests }` → `{ type: 'result', id, results }` (read bytes transferred, not copied)
 * - `{ type: 'close' }` → `{ type: 'closed' }`, then the worker ends.
 *
 * @module
 */
import { PackEngine, type EngineOptions } from './engine.js';
import { PackService, toWireError, type EngineRequest, type EngineResult } from './service.js';

/** Messages the adapter sends. */
export type ToWorker =
  | { type: 'open'; options: Omit<EngineOptions, 'mode'> }
  | { type: 'call'; id: number; requests: EngineRequest[] }
  | { type: 'close' };

/** Messages the worker sends back. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'open-failed'; error: ReturnType<typeof toWireError> }
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

function supportsSyncHandles(): boolean {
  const handle = (globalThis as { FileSystemFileHandle?: { prototype: object } }).FileSystemFileHandle;
  return !!handle && 'createSyncAccessHandle' in handle.prototype;
}

scope.onmessage = (event) => {
  const msg = event.data;
  if (msg.type === 'open') {
    opening = (async () => {
      try {
        if (!supportsSyncHandles()) throw new Error('createSyncAccessHandle is not available in this browser\'s workers');
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
