// A graph's first WebGL draw creates its canvas's WebGL context: 0.1–0.4 s of the page's main
// thread with software WebGL (a Chromium profile of a head click: getContext alone took 385 ms
// of its 650; bench/browser.py). Once the matrix is drawn and the page is idle, the hidden head
// graph draws an empty WebGL trace, so that opening a head finds its context made. Dash's next
// figure for the graph replaces this one (Plotly.react keeps the context).
(function () {
  const EMPTY = [{type: 'scattergl', mode: 'markers', x: [], y: [], hoverinfo: 'skip'}];
  const later = window.requestIdleCallback || ((run) => setTimeout(run, 200));

  function warm() {
    const head = document.querySelector('#head-graph .js-plotly-plot');
    const shown = head && head.data && head.data.length; // Dash has drawn a head: nothing to do
    if (!head || shown || !window.Plotly || head._fullLayout?._glcanvas) return;
    window.Plotly.react(head, EMPTY, head.layout || {}, head._context || {});
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
