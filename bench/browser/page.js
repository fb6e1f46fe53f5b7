// What every bench page (index.html, changes.html, scale.html) needs before its module loads, in one
// place. A classic script, not a module: an import map must be in the document before the first module
// is fetched, and an import map cannot be loaded from a file of its own (<script type="importmap" src>
// is not supported), so this script adds it inline, right after itself, while the parser waits on it.
//
// - The import map: the built library (dist/) imports its dependencies by name, as an app's bundler
//   would resolve them. The runners (bench/*.bench.js) serve exactly these node_modules/ trees.
// - data-error-global="<name>" on this script's tag: the global a runner reads (beside the page's
//   ...Ready flag) when the module graph fails to load (e.g. bench/browser.bench.js, pageReady).
(() => {
  const self = document.currentScript;
  const errorGlobal = self.dataset.errorGlobal;
  if (errorGlobal) addEventListener('error', (e) => (globalThis[errorGlobal] = String(e.message || e)));
  const map = document.createElement('script');
  map.type = 'importmap';
  map.textContent = JSON.stringify({
    imports: {
      idb: '/node_modules/idb/build/index.js',
      '@noble/hashes/': '/node_modules/@noble/hashes/',
      fflate: '/node_modules/fflate/esm/browser.js',
    },
  });
  self.after(map);
})();
