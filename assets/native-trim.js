// dash-renderer's polyfill (core-js 2) replaces String.prototype.trim with a regular-expression
// version in every current browser: it still counts U+180E as a space, which Unicode dropped in
// 6.3. Plotly trims every colour it parses, one per point of a WebGL trace: on the matrix that
// cost ~0.5 s of the page's main thread (a Chromium profile; bench/browser.py).
// This file runs twice: first before Dash's scripts (dashboard/factory.py puts it there), to
// keep the browser's own trim; then after them, as one of Dash's assets, to put it back.
(function () {
  var kept = window.__qkNativeTrim;
  if (!kept) {
    window.__qkNativeTrim = String.prototype.trim;
    return;
  }
  if (String.prototype.trim !== kept) {
    Object.defineProperty(String.prototype, 'trim', {
      value: kept, writable: true, configurable: true, enumerable: false,
    });
  }
})();
