// A graph's first WebGL draw creates its canvas's WebGL context: 0.1–0.4 s of the page's main
// thread with software WebGL (a Chromium profile of a head click: getContext alone took 385 ms
// of its 650; bench/browser.py). Once the matrix is drawn and the page is idle, the hidden head
// graph draws two transparent WebGL points, so that opening a head finds its contexts made (an
// empty trace makes none) and the symbols of its points rasterised (Plotly turns each marker
// symbol into a distance field once per page: ~55 ms of that profile, for the special tokens'
// diamond). Dash's next figure for the graph replaces this one (Plotly.react keeps the contexts).
(function () {
  const WARM = [
    {
      type: 'scattergl',
      mode: 'markers',
      x: [0, 0],
      y: [0, 0],
      // as figures/single.py gives them (a number: Plotly caches each field by the value given)
      marker: {symbol: [0, 2], opacity: 0},
      hoverinfo: 'skip',
    },
  ];
  const later = window.requestIdleCallback || ((run) => setTimeout(run, 200));

  function warm() {
    const head = document.querySelector('#head-graph .js-plotly-plot');
    const shown = head && head.data && head.data.length; // a head, or this warm-up: done
    if (!head || shown || !window.Plotly || head._fullLayout?._glcanvas) return;
    // with the graph's own config (its blank first draw had none, assets/export.js): a new one
    // would make Dash's first figure start the graph afresh, with new WebGL contexts
    window.Plotly.react(head, WARM, head.layout || {}, head.qkatlasConfig || head._context || {});
  }

  const seen = new WeakSet();
  new MutationObserver(() => {
    const matrix = document.querySelector('#matrix-graph .js-plotly-plot');
    if (!matrix || !matrix.on || seen.has(matrix)) return;
    seen.add(matrix);
    matrix.on('plotly_afterplot', () => {
      if (matrix.data && matrix.data.some((t) => t.type === 'scattergl')) later(warm);
    });
  }).observe(document.body, {childList: true, subtree: true});
})();
