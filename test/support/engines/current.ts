/**
 * Which engine a browser test runs in, and the measured differences the tests
 * state explicitly (imported by `*.browser.test.ts` only: it reads vitest's
 * browser context). Each difference names the engine and version it was
 * measured in; a test asserts that engine's real behaviour rather than
 * skipping it.
 *
 * @module
 */
import { describe } from 'vitest';
import { server } from 'vitest/browser';

export type Engine = 'chromium' | 'firefox' | 'webkit';

/** The engine of this test run (vitest's browser instance name). */
export const engine = server.browser as Engine;

/** For test names: "Chromium", "Firefox", "WebKit". */
export const engineName = ({ chromium: 'Chromium', firefox: 'Firefox', webkit: 'WebKit' } as const)[engine];

/** What the user agent of each engine contains (and the others' do not). */
export const userAgentMark = ({ chromium: 'Chrome/', firefox: 'Firefox/', webkit: 'AppleWebKit/' } as const)[engine];

/**
 * WebKitGTK 2.50 on Linux: `createSyncAccessHandle` exists in workers but
 * rejects with `NotSupportedError: Backend does not support this operation`
 * (a property of the Linux builds' file backend, not a setting), so the OPFS
 * worker engine cannot run and `worker: 'auto'` falls back to the main thread.
 */
export const syncHandlesRefused = engine === 'webkit';

/** The OPFS engine `opfsAdapter({})` ends up on in this engine. */
export const defaultOpfsMode: 'worker' | 'main-thread' = syncHandlesRefused ? 'main-thread' : 'worker';

/** Why the OPFS worker engine's tests do not run in this engine ('' where they do). */
export const noWorkerEngineReason = syncHandlesRefused
  ? `${engineName} refuses sync access handles (createSyncAccessHandle rejects NotSupportedError), so the OPFS worker engine cannot run here; its fallback and refusal are tested in opfs.browser.test.ts`
  : '';

/**
 * Declares the tests of one OPFS engine (`worker` true: sync access handles
 * in a worker). Where sync access handles refuse, the worker engine's tests
 * are skipped with the reason in their suite's name: that API does not work
 * in this engine, and the fallback taking its place is asserted elsewhere.
 */
export function describeOpfsEngine(worker: boolean | 'auto', fn: () => void): void {
  if (worker === true && syncHandlesRefused) describe.skip(`OPFS worker engine skipped: ${noWorkerEngineReason}`, fn);
  else fn();
}
