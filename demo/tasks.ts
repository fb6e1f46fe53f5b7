/**
 * Long work on the page: a progress bar, a Cancel button wired to an
 * AbortController whose signal goes to the SDK, and a way to give the event
 * loop a turn between batches so the page keeps painting and answering.
 */
import { AbortError, isArchiveStorageError, type Progress } from '../src/index.js';

/** The progress bar and Cancel button of one panel. */
export interface TaskControls {
  progress: HTMLProgressElement;
  cancel: HTMLButtonElement;
}

/** Shows `p` on `bar` (indeterminate without a total); `undefined` hides the bar. */
export function setProgress(bar: HTMLProgressElement, p: Progress | undefined): void {
  if (p === undefined) {
    bar.hidden = true;
    return;
  }
  bar.hidden = false;
  if (p.total !== undefined && p.total > 0) {
    bar.max = p.total;
    bar.value = Math.min(p.done, p.total);
  } else {
    bar.removeAttribute('value'); // indeterminate
  }
}

/** Runs `fn` with the panel's progress bar shown and its Cancel button aborting the signal. */
export async function withTask<T>(controls: TaskControls, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  const { cancel, progress } = controls;
  cancel.hidden = false;
  cancel.disabled = false;
  cancel.onclick = () => {
    cancel.disabled = true;
    ctl.abort(new AbortError('cancelled on the page'));
  };
  setProgress(progress, { done: 0 });
  try {
    return await fn(ctl.signal);
  } finally {
    cancel.onclick = null;
    cancel.hidden = true;
    setProgress(progress, undefined);
  }
}

/** True for the SDK's `ABORTED` and the platform's AbortError. */
export function isAbort(error: unknown): boolean {
  return isArchiveStorageError(error, 'ABORTED') || (error instanceof DOMException && error.name === 'AbortError');
}

/** Resolves on the next task of the event loop (a MessageChannel turn: no 4 ms timer clamp). */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/** Returns a function that yields to the event loop when `budgetMs` of work ran since its last yield. */
export function yielder(budgetMs = 12): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < budgetMs) return;
    await nextTask();
    last = performance.now();
  };
}
