// Which view shows, decided in the browser (each was a server round trip on every page load).
//
// sections: each view's section hidden unless it is the open one (dashboard/views/url.py).
// modelInfo: the navbar's model facts, from the request (dashboard/views/request.py).
// otherViews: the views other than the matrix hear the view, the request and the job's progress
//   only while one of them is open (dashboard/views/url.py). With the matrix open their callbacks
//   ran on every new request just to answer "not shown", and Dash runs at most 12 callbacks at
//   once, those with the most dependents first: the matrix figure, which nothing depends on,
//   waited behind them for a free slot (bench/browser.py). Passed on: what changed since it was
//   last passed on, and all three when another view opens.
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
    otherViews: (() => {
      let last = null; // what was passed on last, while another view was open
      return function (view, request, progress) {
        const skip = window.dash_clientside.no_update;
        if (!view || (view.view || 'matrix') === 'matrix') {
          last = null;
          return [skip, skip, skip];
        }
        const opened = !last || view !== last.view;
        const out = [
          opened ? view : skip,
          opened || request !== last.request ? request : skip,
          opened || progress !== last.progress ? progress : skip,
        ];
        last = {view, request, progress};
        return out;
      };
    })(),
  }),
});
