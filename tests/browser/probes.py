"""JavaScript probes the page object runs in the browser: they read Plotly figures, and map
data coordinates to viewport pixels for real mouse moves and clicks."""

# The scripts below are bodies that QKPage.js runs after JS_ARRAY.
# Plotly's gd.data keeps a typed-array spec {dtype, bdata} as given, with the decoded array
# attached as _inputArray; _fullData holds plain typed arrays. `arr` accepts all three forms.
JS_ARRAY = r"""
const DTYPES = {f4: Float32Array, f8: Float64Array, i4: Int32Array, i2: Int16Array, u1: Uint8Array,
                i1: Int8Array, u2: Uint16Array, u4: Uint32Array};
function arr(v) {
  if (v == null) return null;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return v;
  if (v._inputArray) return v._inputArray;
  if (v.bdata !== undefined) {
    const raw = atob(v.bdata), bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return new DTYPES[v.dtype](bytes.buffer);
  }
  return null;
}
// The distinct colours of a marker coloured point by point (RGB rows, shape "n,3"), as sorted
// "#rrggbb"; null for a marker with codes on a colour scale (SVG and 3D traces).
function rgbColors(marker) {
  const c = marker && marker.color;
  if (!c || c.bdata === undefined || !/,3$/.test(c.shape || '')) return null;
  const rgb = arr({dtype: c.dtype, bdata: c.bdata}), seen = new Set();
  const hex = (b) => b.toString(16).padStart(2, '0');
  for (let i = 0; i < rgb.length; i += 3) seen.add('#' + hex(rgb[i]) + hex(rgb[i + 1]) + hex(rgb[i + 2]));
  return Array.from(seen).sort();
}
function graph(id) {
  const host = document.getElementById(id);
  return host ? host.querySelector('.js-plotly-plot') : null;
}
"""

MATRIX_JS = r"""
const [nHeads, missing] = arguments;
const gd = graph('matrix-graph');
if (!gd || !gd.data || !gd.data.length) return null;
// the maps' traces (one per layer), then the search hits' (one per layer); the cell heatmap
// and the stand-in badges are left out
const drawn = (t) => /^(layer|matches) /.test(t.name || '');
const traces = gd.data.filter(drawn).map((t) => {
  const x = arr(t.x), y = arr(t.y);
  if (!x || !y) return {length: -1, filled: []};
  const per = x.length / nHeads, filled = [];
  for (let h = 0; h < nHeads; h++) {
    let n = 0;
    for (let i = h * per; i < (h + 1) * per; i++) {
      if (x[i] !== missing && y[i] !== missing) n++;  // a head not computed yet: off the grid
    }
    filled.push(n);
  }
  return {length: x.length, ylength: y.length, type: t.type, filled: filled};
});
return {traces: traces, title: (gd.layout.title || {}).text || ''};
"""

HEAD_JS = r"""
const gd = graph('head-graph');
if (!gd || !gd.data || !gd.data.length) return null;
const t = gd.data[0], x = arr(t.x), y = arr(t.y), z = arr(t.z);  // trace 0: every point
if (!x || !y) return null;
let finite = 0;
for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i]) && !Number.isNaN(y[i])) finite++;
return {traces: gd.data.length, type: t.type, length: x.length, ylength: y.length,
        zlength: z ? z.length : null, finite: finite, text: Array.from(t.text || []),
        colors: rgbColors(t.marker), title: (gd.layout.title || {}).text || ''};
"""

# Viewport coordinates of one point of the matrix figure, as Plotly maps data to pixels.
POINT_PIXEL_JS = r"""
const [curve, index] = arguments;
const gd = graph('matrix-graph');
const t = gd.data[curve], x = arr(t.x)[index], y = arr(t.y)[index];
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
const box = gd.getBoundingClientRect();
return {x: box.left + xa._offset + xa.l2p(x), y: box.top + ya._offset + ya.l2p(y), dx: x, dy: y};
"""

HEAD_POINT_PIXEL_JS = r"""
const [index] = arguments;
const gd = graph('head-graph');
const t = gd.data[0], x = arr(t.x)[index], y = arr(t.y)[index];
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
const box = gd.getBoundingClientRect();
return [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)];
"""

# The sentence view's figure: line traces (segments = how many None breaks, one per link),
# the query/key label traces, or on an image the heatmap, its layout image and outline.
SENTENCE_JS = r"""
const gd = graph('sentence-graph');
if (!gd || !gd.data || !gd.data.length) return null;
const traces = gd.data.map((t) => {
  const x = arr(t.x) || [];
  const out = {type: t.type, mode: t.mode || null, name: t.name || null, length: x.length,
               segments: Array.from(x).filter((v) => v === null).length,
               color: t.line ? t.line.color : null};
  if (t.mode === 'markers+text') out.text = Array.from(t.text);
  if (t.type === 'heatmap') {
    out.zshape = [t.z.length, t.z[0].length];
    out.z = t.z;
    out.ylength = (arr(t.y) || []).length;
  }
  return out;
});
const layout = gd.layout;
return {traces: traces, title: (layout.title || {}).text || '', images: (layout.images || []).length,
        imageSource: ((layout.images || [])[0] || {}).source || '', shapes: layout.shapes || []};
"""

# Viewport coordinates of a data point of the sentence graph, scrolled to mid-window first
# (a long sentence makes the graph taller than the window).
SENTENCE_PIXEL_JS = r"""
const [x, y] = arguments;
const gd = graph('sentence-graph');
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
let box = gd.getBoundingClientRect();
window.scrollBy(0, box.top + ya._offset + ya.l2p(y) - window.innerHeight / 2);
box = gd.getBoundingClientRect();
return [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)];
"""

# Among `candidates` (indices into trace 0 of a 2D graph), the point farthest in pixels from
# every other point: a real click or hover on it cannot land on a neighbour.
ISOLATED_JS = r"""
const [id, candidates] = arguments;
const gd = graph(id);
const t = gd.data[0], x = arr(t.x), y = arr(t.y);
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
const px = Array.from(x, (v) => xa.l2p(v)), py = Array.from(y, (v) => ya.l2p(v));
let best = -1, bestGap = -1;
for (const i of candidates) {
  let gap = Infinity;
  for (let j = 0; j < px.length; j++) {
    if (j === i) continue;
    const d = Math.hypot(px[i] - px[j], py[i] - py[j]);
    if (d < gap) gap = d;
  }
  if (gap > bestGap) { bestGap = gap; best = i; }
}
return [best, bestGap];
"""

# Trace 0's coordinates and hover text at some indices, and the head figure's link lines.
HEAD_LINES_JS = r"""
const gd = graph('head-graph');
return gd.data.slice(1, 6).map((t) => [Array.from(arr(t.x) || []), Array.from(arr(t.y) || [])]);
"""

HEAD_XY_JS = r"""
const gd = graph('head-graph');
const t = gd.data[0];
return [Array.from(arr(t.x)), Array.from(arr(t.y))];
"""

# The image view's second graph: the head's map of the open image's tokens.
IMAGE_MAP_JS = r"""
const host = document.getElementById('image-map-wrap');
const gd = graph('image-map');
const t = gd && gd.data && gd.data[0];
return {hidden: !host || host.hidden || host.offsetParent === null,
        length: t ? (arr(t.x) || []).length : 0, text: t ? Array.from(t.text || []) : []};
"""

# Viewport coordinates of one point of trace 0 of any 2D graph, scrolled into view first.
GRAPH_POINT_PIXEL_JS = r"""
const [id, index] = arguments;
document.getElementById(id).scrollIntoView({block: 'center'});
const gd = graph(id);
const t = gd.data[0], x = arr(t.x)[index], y = arr(t.y)[index];
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
const box = gd.getBoundingClientRect();
return [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)];
"""

# The single-head graph's sizes: Plotly's plot area, the graph it draws in, the window, and
# how long (ms) the graph's height has been what it is (a watcher started on the first call).
HEAD_SIZE_JS = r"""
if (!window.__headHeight) {
  window.__headHeight = {height: null, since: performance.now()};
  const watch = () => {
    const gd = graph('head-graph'), w = window.__headHeight;
    const height = gd ? Math.round(gd.getBoundingClientRect().height) : null;
    if (height !== w.height) { w.height = height; w.since = performance.now(); }
    requestAnimationFrame(watch);
  };
  watch();
}
const gd = graph('head-graph');
if (!gd || !gd._fullLayout || !gd._fullLayout._size || !gd.data || !gd.data.length) return null;
return {plot: gd._fullLayout._size.h, graph: gd.getBoundingClientRect().height,
        window: window.innerHeight, points: (arr(gd.data[0].x) || []).length,
        steady: performance.now() - window.__headHeight.since};
"""

# Records each callback request from then on in window.__qkCalls: its outputs and the inputs that
# changed, as Dash names them (tests/browser/page.py, outputs), its answer's status and what each
# output got ("value" or "patch"), and how many are in flight.
CALLS_JS = r"""
if (!window.__qkCalls) {
  const rec = window.__qkCalls = {calls: [], inflight: 0};
  const fetch0 = window.fetch;
  window.fetch = function (url, options) {
    if (!String(url).includes('_dash-update-component')) return fetch0.apply(this, arguments);
    let call = {output: '?', changed: []};
    try {
      const body = JSON.parse(options.body);
      call = {output: body.output, changed: body.changedPropIds};
    } catch (err) { /* not JSON */ }
    rec.calls.push(call);
    rec.inflight += 1;
    return fetch0.apply(this, arguments)
      .then(async (response) => {
        call.status = response.status; // 204: no update at all
        if (response.status === 200) { // what each output got: a whole value or a patch
          const body = await response.clone().json();
          call.sent = {};
          for (const [id, props] of Object.entries(body.response || {})) {
            for (const [prop, value] of Object.entries(props)) {
              call.sent[`${id}.${prop}`] = value && value.__dash_patch_update ? 'patch' : 'value';
            }
          }
        }
        return response;
      })
      .finally(() => { rec.inflight -= 1; });
  };
}
"""
