/** Types of launch.js (JavaScript so that the benchmarks, plain Node, can use it too). */
import type { ChildProcess } from 'node:child_process';
import type { Browser } from 'puppeteer-core';

export type Engine = 'chromium' | 'firefox' | 'webkit';
export declare const ENGINES: readonly Engine[];
export declare function selectedEngines(value?: string): Engine[];
export declare const chromiumPath: () => string;
export declare const CHROMIUM_ARGS: string[];
export declare const FIREFOX_PREFS: Record<string, unknown>;
export declare function launchFirefox(options?: { executablePath?: string; headless?: boolean; prefs?: Record<string, unknown> }): Promise<{ browser: Browser; close(): Promise<void> }>;
export declare function startXvfb(): Promise<{ display: string; proc: ChildProcess }>;
export declare class WebKitHost {
  constructor(options: { display: string; python?: string; hostScript?: string; args?: string[] });
  readonly ready: Promise<{ webkit: string; features: string[] }>;
  send(op: string, params?: Record<string, unknown>): Promise<any>;
  waitFor(view: number, body: string): Promise<void>;
  close(): Promise<void>;
}
export declare function openEnginePage(engine: Engine, url: string): Promise<{ version: string; evaluate(expression: string): Promise<any>; close(): Promise<void> }>;
