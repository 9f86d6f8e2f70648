// Which view shows, decided in the browser (each was a server round trip on every page load).
//
// sections: each view's section hidden unless it is the open one (dashboard/views/url.py).
// modelInfo: the navbar's model facts, from the request (dashboard/views/request.py).
// viewGates, analysisGates: each view's callbacks hear the view, the request, the job's progress,
//   the URL's search, the analysis job's end and heads measured only while that view is open
//   (dashboard/views/url.py, ids.py; each store's id names its gate and part); the "other"
//   gate's while any view but the matrix is. With the matrix open they ran on every new request
//   just to answer "not shown", and Dash runs at most 12 callbacks at once, those with the most
//   dependents first: the matrix figure, which nothing depends on, waited behind them for a free
//   slot (bench/browser.py); a head click ran the sentence, compare and similarity callbacks
//   too, each request and answer a pass over every component of the page. Passed on: what
//   changed since it was last passed on, and everything when the gate opens (or the view
//   changes, another head).
function gates(parts) {
  const last = {}; // per gate: what it passed on last, while it was open
  return function (...values) {
    const skip = window.dash_clientside.no_update;
    const now = Object.fromEntries(parts.map((part, i) => [part, values[i]]));
    const shown = (now.view && now.view.view) || 'matrix';
    const before = {...last};
    return window.dash_clientside.callback_context.outputs_list.map(({id}) => {
      const [, gate, part] = id.split('-'); // gate-<gate>-<part> (dashboard/ids.py)
      if (!now.view || !(gate === 'other' ? shown !== 'matrix' : shown === gate)) {
        last[gate] = null;
        return skip;
      }
      last[gate] = now;
      const was = before[gate];
      const opened = !was || now.view !== was.view;
      return opened || now[part] !== was[part] ? now[part] : skip;
    });
  };
}

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
    viewGates: gates(['view', 'request', 'progress', 'search']),
    analysisGates: gates(['view', 'analysis', 'metrics']),
  }),
});
