// The views other than the matrix hear the view, the request and the job's progress only while
// one of them is open (dashboard/views/url.py). With the matrix open their
// callbacks would all run on every new request just to answer "not shown", and Dash runs at most
// 12 callbacks at once, by how many others depend on them: the matrix figure, which nothing
// depends on, waited for a free one behind them (bench/browser.py). Passed on: what changed
// since it was last passed on, and all three when another view opens.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  qkatlas: Object.assign({}, (window.dash_clientside || {}).qkatlas, {
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
