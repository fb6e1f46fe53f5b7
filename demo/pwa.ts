/**
 * Offline and updates: registers the service worker that vite-plugin-pwa
 * generated (Workbox precaching of every built file) and runs the update flow.
 *
 * - First visit: the worker installs, precaches the page and takes this tab
 *   (`clientsClaim`); the page says it now works offline.
 * - A new build deployed: its worker installs beside the old one and waits.
 *   The page shows "A new version is ready" with a *Reload to update* button;
 *   nothing changes under a running import or wipe. The click activates the
 *   new worker and reloads this tab onto the new code in one step.
 * - Another tab activated the update: this tab's code is now older than the
 *   worker serving it, so it says so and offers the same reload (never a
 *   silent mix of old code and new files).
 */
import { registerSW } from 'virtual:pwa-register';
import { byId } from './dom.js';

/** How often an open tab asks for a new version (the browser also checks on every navigation). */
const UPDATE_CHECK_MS = 60 * 60 * 1000;

export function startServiceWorker(): void {
  const banner = byId('update-banner');
  const bannerText = byId('update-text');
  const reloadButton = byId<HTMLButtonElement>('update-reload');
  const offlineStatus = byId('offline-status');
  if (!('serviceWorker' in navigator)) {
    offlineStatus.textContent = 'This browser has no service workers: the page needs the network to load.';
    return;
  }
  const hadController = navigator.serviceWorker.controller !== null;
  let updating = false;

  const showBanner = (text: string, action: () => void): void => {
    bannerText.textContent = text;
    reloadButton.onclick = () => {
      reloadButton.disabled = true;
      action();
    };
    banner.hidden = false;
  };

  const updateSW = registerSW({
    immediate: true,
    onNeedRefresh() {
      showBanner('A new version of this page is ready.', () => {
        updating = true;
        // Activates the waiting worker; the page reloads once it controls this tab (workbox-window's "controlling").
        void updateSW(true);
      });
    },
    onOfflineReady() {
      offlineStatus.textContent = 'Ready to work offline: every file of this page is cached in the browser.';
    },
    onRegisteredSW(_url, registration) {
      if (!registration) return;
      if (hadController) offlineStatus.textContent = 'Works offline: this page was loaded from the browser’s cache of it.';
      setInterval(() => void registration.update().catch(() => {}), UPDATE_CHECK_MS);
    },
    onRegisterError(error: unknown) {
      console.warn('service worker registration failed', error);
      offlineStatus.textContent = 'Offline use is not available here (the service worker did not register).';
    },
  });

  // A newer worker took this tab without our click (another tab updated): offer the reload, never mix versions.
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!hadController || updating) return;
    showBanner('This page was updated in another tab; this tab still runs the older version.', () => location.reload());
  });
}
