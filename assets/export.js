// The SVG button of every graph's mode bar. Plotly takes a custom mode-bar button only as an
// object with a click function, which a Dash config (JSON) cannot carry: a config listing
// "qkatlas-svg" (dashboard/export.py) gets the button here, saving under the same file name as
// the PNG camera. Plotly.react and Plotly.newPlot are wrapped as plotly.js arrives (Dash loads
// it after this file), before any graph is drawn.
(function () {
  const MARKER = "qkatlas-svg";

  function svgButton(options) {
    return {
      name: "downloadSvg",
      title: "Download plot as SVG",
      icon: window.Plotly.Icons.disk,
      click: function (gd) {
        window.Plotly.downloadImage(gd, {
          format: "svg",
          filename: options.filename || "plot",
          width: gd._fullLayout.width,
          height: gd._fullLayout.height,
        });
      },
    };
  }

  function expand(config) {
    const add = config && config.modeBarButtonsToAdd;
    if (!Array.isArray(add) || add.indexOf(MARKER) < 0) {
      return config;
    }
    const button = svgButton(config.toImageButtonOptions || {});
    return Object.assign({}, config, {
      modeBarButtonsToAdd: add.map((b) => (b === MARKER ? button : b)),
    });
  }

  // plotly.js's exports are getters without setters: the wrapped functions go on an object
  // that inherits everything else from it
  function wrap(plotly) {
    if (!plotly || plotly.__qkatlasSvg) {
      return plotly;
    }
    const wrapped = Object.create(plotly);
    ["react", "newPlot"].forEach(function (name) {
      const original = plotly[name];
      Object.defineProperty(wrapped, name, {
        value: function (gd, data, layout, config) {
          if (data && !Array.isArray(data) && data.config) {  // react(gd, {data, layout, config})
            return original.call(plotly, gd, Object.assign({}, data, {config: expand(data.config)}));
          }
          return original.call(plotly, gd, data, layout, expand(config));
        },
      });
    });
    Object.defineProperty(wrapped, "__qkatlasSvg", {value: true});
    return wrapped;
  }

  let current = wrap(window.Plotly);
  Object.defineProperty(window, "Plotly", {
    configurable: true,
    get: function () {
      return current;
    },
    set: function (value) {
      current = wrap(value);
    },
  });
})();
