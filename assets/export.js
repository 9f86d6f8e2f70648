// The SVG button of every graph's mode bar. Plotly takes a custom mode-bar button only as an
// object with a click function, which a Dash config (JSON) cannot carry: a config listing
// "qkatlas-svg" (dashboard/export.py) gets the button here, saving under the same file name as
// the PNG camera. Plotly.react and Plotly.newPlot are wrapped as plotly.js arrives (Dash loads
// it after this file), before any graph is drawn; so is Plotly.Plots.resize (below).
(function () {
  const MARKER = "qkatlas-svg";

  // One button object for every graph and every draw, reading the file name when clicked:
  // Plotly.react compares the new config with the old one in depth, and a new object (a new
  // click function) made every figure update a newPlot then a react — two whole draws, and a
  // new WebGL context each time (a Chromium profile: getContext took 385 ms of a head click).
  let button = null;

  function svgButton() {
    button = button || {
      name: "downloadSvg",
      title: "Download plot as SVG",
      icon: window.Plotly.Icons.disk,
      click: function (gd) {
        const options = gd._context.toImageButtonOptions || {};
        window.Plotly.downloadImage(gd, {
          format: "svg",
          filename: options.filename || "plot",
          width: gd._fullLayout.width,
          height: gd._fullLayout.height,
        });
      },
    };
    return button;
  }

  function expand(config) {
    const add = config && config.modeBarButtonsToAdd;
    if (!Array.isArray(add) || add.indexOf(MARKER) < 0) {
      return config;
    }
    return Object.assign({}, config, {
      modeBarButtonsToAdd: add.map((b) => (b === MARKER ? svgButton() : b)),
    });
  }

  // Each graph's file name (views/export.name_images), put into its config here, not by a new
  // config from Dash: Plotly redraws a graph from scratch (newPlot, then react) when its config
  // changes, and the head graph's name changes with every head opened.
  const names = {};

  function owner(gd) {
    const found = gd && gd.parentElement && gd.parentElement.closest("[id]");
    return found ? found.id : null;
  }

  function withName(options, name) {
    return Object.assign({}, options, {filename: name});
  }

  function named(gd, config) {
    const name = names[owner(gd)];
    const options = config && config.toImageButtonOptions;
    if (!name || !options) {
      return config;
    }
    return Object.assign({}, config, {toImageButtonOptions: withName(options, name)});
  }

  function nameImages(wanted) {
    Object.assign(names, wanted || {});
    Object.keys(wanted || {}).forEach(function (id) {
      const gd = document.querySelector("#" + id + " .js-plotly-plot");
      const context = gd && gd._context;
      if (context && context.toImageButtonOptions && wanted[id]) {  // read when a button is clicked
        context.toImageButtonOptions = withName(context.toImageButtonOptions, wanted[id]);
      }
    });
    return window.dash_clientside.no_update;
  }

  // dcc.Graph draws its default figure (no trace, no layout) as it mounts, the graphs of the
  // hidden views too: those are drawn without axes or mode bar, a third of the work (eight
  // graphs, ~50 ms of the page load). Their first figure draws them whole: Plotly starts a graph
  // afresh when its config changes. The config they are given is kept as `qkatlasConfig` for a
  // draw before Dash's first figure (assets/warm-head.js).
  function hiddenBlank(gd, figure) {
    const div = graphDiv(gd);
    const blank = (figure.data || []).length === 0 && Object.keys(figure.layout || {}).length === 0;
    if (!blank || !unrendered(div) || div._fullLayout) {
      return figure;
    }
    div.qkatlasConfig = figure.config;
    const axis = {visible: false};
    return Object.assign({}, figure, {
      layout: {xaxis: axis, yaxis: axis},
      config: Object.assign({}, figure.config, {displayModeBar: false}),
    });
  }

  // Plotly takes a graph's div or its id
  function graphDiv(gd) {
    return typeof gd === "string" ? document.getElementById(gd) : gd;
  }

  // In the page but not rendered: inside a hidden view (Plotly checks only the div's own display)
  function unrendered(div) {
    return Boolean(div && div.isConnected && div.offsetParent === null);
  }

  // Whether a drawn graph's box is the size its layout was computed for (within Plotly's own
  // tolerance in autosizing: 1 px), so that a relayout to fit it would change nothing.
  function drawnAtItsSize(gd) {
    const drawn = gd._fullLayout;
    if (!drawn || !drawn.autosize || !drawn.width || !drawn.height) {
      return false;
    }
    const box = window.getComputedStyle(gd);
    return (
      Math.abs(parseFloat(box.width) - drawn.width) <= 1 &&
      Math.abs(parseFloat(box.height) - drawn.height) <= 1
    );
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
            const whole = Object.assign({}, data, {config: named(gd, expand(data.config))});
            return original.call(plotly, gd, hiddenBlank(gd, whole));
          }
          return original.call(plotly, gd, data, layout, named(gd, expand(config)));
        },
      });
    });
    // A graph inside a hidden view is not resized: Plotly checks only the graph's own display,
    // so hiding the matrix as a head opened relaid it out at a default size — a whole redraw of
    // its WebGL points while the head was drawn — and showing it again redrew it once more.
    // Its next resize, once shown, measures it (dcc.Graph's resize observer).
    // Nor is a graph resized to the size it is drawn at: Plotly relays out and redraws it all
    // the same, and dcc.Graph's resize observer reports every graph once as it starts watching
    // (the matrix drew its 216,000 points twice as the page loaded).
    const plots = Object.create(plotly.Plots);
    Object.defineProperty(plots, "resize", {
      value: function (gd) {
        const div = graphDiv(gd);
        if (unrendered(div) || (div && div.isConnected && drawnAtItsSize(div))) {
          return Promise.resolve(div);
        }
        return plotly.Plots.resize.apply(plotly.Plots, arguments);
      },
    });
    Object.defineProperty(wrapped, "Plots", {value: plots});
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

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    qkatlas: Object.assign({}, (window.dash_clientside || {}).qkatlas, {nameImages: nameImages}),
  });
})();
