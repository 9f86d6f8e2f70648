// The head figure's hover text, built here from the corpus's hover table (sent once per
// corpus, dashboard/figures/hover.hover_table) instead of sent with every head: trace 0 carries
// each point's id (queries 0…n-1, then keys) as a typed array in customdata, and a point's
// text is its role's prefix and its token's text (as figures/hover.point_texts).
(function () {
  const ARRAYS = {u1: Uint8Array, u2: Uint16Array, u4: Uint32Array, i4: Int32Array};

  function ids(spec) {
    if (!spec || spec.bdata === undefined || !ARRAYS[spec.dtype]) return null;
    const raw = atob(spec.bdata);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return new ARRAYS[spec.dtype](bytes.buffer);
  }

  function withHover(figure, hover) {
    if (!figure || !figure.data || !figure.data.length || !hover) return figure;
    const trace = figure.data[0];
    const points = ids(trace.customdata);
    if (!points) return figure;
    const n = hover.tokens.length;
    const text = new Array(points.length);
    for (let j = 0; j < points.length; j++) {
      const id = points[j];
      text[j] = hover.roles[id < n ? 0 : 1] + hover.tokens[id % n];
    }
    return Object.assign({}, figure, {
      data: [Object.assign({}, trace, {text: text})].concat(figure.data.slice(1)),
    });
  }

  // A hover on a 2D figure redraws it (the point's links, the compare panes' rings, the sentence
  // view's highlighted links), and Plotly drops its hover label when the figure is redrawn: the
  // label is put back where the mouse is, without a new hover event (which would redraw again).
  const KEEP_LABEL = ['head-graph', 'compare-a-graph', 'compare-b-graph', 'sentence-graph'];

  function keepLabel(gd) {
    let at = null; // the mouse in the plot area's pixels, while it hovers a point
    gd.on('plotly_hover', (e) => {
      const xa = gd._fullLayout.xaxis;
      const ya = gd._fullLayout.yaxis;
      if (!e.event || !xa || !ya || gd._fullLayout.scene) return; // 3D: not redrawn on hover
      const box = gd.getBoundingClientRect();
      at = {xpx: e.event.clientX - box.left - xa._offset, ypx: e.event.clientY - box.top - ya._offset};
    });
    gd.on('plotly_unhover', (e) => {
      if (e && e.event) at = null; // the mouse moved off the points (not a redraw)
    });
    gd.addEventListener('mouseleave', () => {
      at = null;
    });
    gd.on('plotly_afterplot', () => {
      if (at && !gd.querySelector('.hoverlayer .hovertext')) {
        window.Plotly.Fx.hover(gd, at, 'xy', true);
      }
    });
  }

  new MutationObserver(() => {
    for (const id of KEEP_LABEL) {
      const gd = document.querySelector('#' + id + ' .js-plotly-plot');
      if (gd && gd.on && !gd.qkKeepsLabel) {
        gd.qkKeepsLabel = true;
        keepLabel(gd);
      }
    }
  }).observe(document.body, {childList: true, subtree: true});

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    qkatlas: Object.assign({}, (window.dash_clientside || {}).qkatlas, {
      withHover: withHover,
    }),
  });
})();
