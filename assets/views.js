// Which view shows, decided in the browser (each was a server round trip on every page load).
//
// sections: each view's section hidden unless it is the open one (dashboard/views/url.py).
// modelInfo: the navbar's model facts, from the request (dashboard/views/request.py).
// viewGates: each view's callbacks hear the view, the request and the job's progress only while
//   that view is open (dashboard/views/url.py; ids.GATES, in this order); the "other" gate's
//   while any view but the matrix is. With the matrix open they ran on every new request just to
//   answer "not shown", and Dash runs at most 12 callbacks at once, those with the most
//   dependents first: the matrix figure, which nothing depends on, waited behind them for a free
//   slot (bench/browser.py); a head click ran the sentence, compare and similarity callbacks too,
//   each request and answer a pass over every component of the page. Passed on: what changed
//   since it was last passed on, and all three when the gate opens.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  qkatlas: Object.assign({}, (window.dash_clientside || {}).qkatlas, {
    sections: function (view) {
      const shown = (view && view.view) || 'matrix';
      return ['matrix', 'head', 'sentence', 'similarity', 'compare'].map((name) => shown !== name);
    },
    modelInfo: function (request) {
      const info = (request && request.info) || '';
      return [info, info]; // what fits shows; the rest on hover
    },
    viewGates: (() => {
      const GATES = {
        other: (shown) => shown !== 'matrix',
        head: (shown) => shown === 'head',
        sentence: (shown) => shown === 'sentence',
        similarity: (shown) => shown === 'similarity',
        compare: (shown) => shown === 'compare',
      };
      const last = {}; // per gate: what was passed on last, while it was open
      return function (view, request, progress) {
        const skip = window.dash_clientside.no_update;
        const shown = (view && view.view) || 'matrix';
        return Object.entries(GATES).flatMap(([gate, open]) => {
          if (!view || !open(shown)) {
            last[gate] = null;
            return [skip, skip, skip];
          }
          const before = last[gate];
          const opened = !before || view !== before.view;
          last[gate] = {view, request, progress};
          return [
            opened ? view : skip,
            opened || request !== before.request ? request : skip,
            opened || progress !== before.progress ? progress : skip,
          ];
        });
      };
    })(),
  }),
});
