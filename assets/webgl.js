// Whether this browser can draw WebGL: the matrix needs it, the other views fall back to SVG.
// Read once by a clientside callback (dashboard/views/webgl.py) into the app-webgl store.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  qkatlas: Object.assign({}, (window.dash_clientside || {}).qkatlas, {
    webgl: function () {
      try {
        const canvas = document.createElement("canvas");
        const gl = canvas.getContext("webgl") || canvas.getContext("experimental-webgl");
        return Boolean(window.WebGLRenderingContext && gl);
      } catch (err) {
        return false;
      }
    },
  }),
});
