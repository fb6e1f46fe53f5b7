/**
 * The browser engines the `browser` test project (and `npm run bench -- browser`)
 * runs in: Chromium (Playwright), Firefox ESR (puppeteer-core over WebDriver
 * BiDi) and WebKitGTK (a PyGObject host). `BROWSER_ENGINES=chromium,firefox`
 * picks some for a local run; CI runs all three (the default).
 *
 * @module
 */
import { playwright } from '@vitest/browser-playwright';
import { CHROMIUM_ARGS, chromiumPath, selectedEngines, type Engine } from './launch.js';
import { firefox } from './firefox.js';
import { webkit } from './webkit.js';

export { ENGINES, selectedEngines, type Engine } from './launch.js';

/**
 * One vitest browser instance per selected engine. Each provider can run next
 * to the others in one vitest process (`supportsParallelism` plus a mocker;
 * the custom ones refuse `vi.mock`, which no browser test uses), so the three
 * engines' files run side by side.
 */
export function browserInstances(engines: Engine[] = selectedEngines()) {
  return engines.map((engine) => {
    if (engine === 'firefox') return { browser: 'firefox' as const, provider: firefox({ parallel: true }) };
    if (engine === 'webkit') return { browser: 'webkit' as const, provider: webkit({ parallel: true }) };
    return { browser: 'chromium' as const, provider: playwright({ launchOptions: { executablePath: chromiumPath(), args: CHROMIUM_ARGS } }) };
  });
}
