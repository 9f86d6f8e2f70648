// The matrix box's size at page load: [its width, the window's height] in CSS px, in steps of
// 40 px (so similar windows share one drawn figure). The server sizes each cell's points to it
// (dashboard/figures/matrix.py, cell_px and pairs_for_cell). Read once by a clientside callback
// (dashboard/views/matrix.py) into the matrix-viewport store.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  qkatlas: Object.assign({}, (window.dash_clientside || {}).qkatlas, {
    viewport: function () {
      const step = 40;
      const graph = document.getElementById("matrix-graph");
      const box = graph && graph.parentElement;
      let width = window.innerWidth;
      if (box && box.clientWidth) {  // the graph is 100% of its container's content box
        const style = window.getComputedStyle(box);
        width = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      }
      return [Math.round(width / step) * step, Math.round(window.innerHeight / step) * step];
    },
  }),
});
