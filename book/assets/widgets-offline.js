// Loaded on pages with Jupyter widgets, after require.js and before the widget manager
// (embed-amd.js from @jupyter-widgets/html-manager), through nb_ipywidgets_js in _config.yml.
// Three jobs: point require.js at the vendored widget modules, give the widgets the one
// MathJax 2 call they make, and let the course's explorers answer their sliders without a
// Python kernel (the last function below).
(function () {
  "use strict";
  // The widget manager finds its icon fonts next to the address require.js gives its modules;
  // without this, require.js places them beside the page and the fonts 404. Point the
  // @jupyter-widgets modules at the vendored copy, next to this script.
  var here = document.currentScript.src;
  var dir = new URL("jupyter-widgets", here).href;
  window.require.config({
    paths: {
      "@jupyter-widgets": dir,
      "@jupyter-widgets/html-manager/dist": dir,
    },
  });

  // The widgets typeset their labels with MathJax 2's MathJax.Hub.Queue, which MathJax 3 does
  // not have (jupyter-widgets/ipywidgets#3829), and the page stops rendering widgets at the
  // first label. MathJax 3 has replaced the global MathJax by DOMContentLoaded (it is a
  // deferred script), before the widget manager renders: give it the one call they use.
  document.addEventListener("DOMContentLoaded", function () {
    var mj = window.MathJax;
    if (!mj || mj.Hub) return;
    mj.Hub = {
      Queue: function (job) {
        // job is ["Typeset", MathJax.Hub, element]; the label's text is already set.
        var element = job && job[2];
        if (!mj.startup) return; // MathJax itself failed to load: show the label untyped
        mj.startup.promise
          .then(function () {
            return mj.typesetPromise(element ? [element] : undefined);
          })
          .catch(function (err) {
            console.error("MathJax could not typeset a widget label:", err);
          });
      },
    };
  });
})();

// The course's explorers (lstm_core.widgets.Explorer) on a page without a Python kernel: each
// explorer carries its read-out at every combination of slider positions, computed by
// lstm_core when the page was built (a JSON table in a hidden child). When a slider moves, the
// read-out shows the matching entry. Sliders are SelectionSliders: noUiSlider puts the index
// of the position on the handle as aria-valuenow.
(function () {
  "use strict";
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return key in values ? values[key] : match;
    });
  }

  function render(table, index) {
    function pick(field) {
      var flat = 0;
      field.axes.forEach(function (axis) {
        flat = flat * table.sizes[axis] + index[axis];
      });
      return field.values[flat];
    }
    var rows = "";
    for (var r = 0; r < table.fields.length; r += 3) {
      var geometry = pick(table.fields[r + 2]);
      var bar = "";
      if (geometry) {
        var parts = geometry.split(" ");
        bar = fill(table.bar, { left: parts[0], width: parts[1] });
      }
      rows += fill(table.row, {
        label: pick(table.fields[r]),
        text: pick(table.fields[r + 1]),
        bar: bar,
      });
    }
    return fill(table.table, { rows: rows });
  }

  function bind(box) {
    if (box.dataset.lstmExplorer) return;
    var data = box.querySelector("script.lstm-explorer-table");
    var out = box.querySelector(".lstm-explorer-readout .widget-html-content");
    // noUiSlider may set aria-valuenow after the last element is added: do not wait for it
    var handles = box.querySelectorAll(".noUi-handle");
    if (!data || !out) return; // not rendered yet
    var table = JSON.parse(data.textContent);
    if (handles.length !== table.sizes.length) return;
    box.dataset.lstmExplorer = "bound";
    handles = Array.prototype.slice.call(handles);
    function update() {
      var index = handles.map(function (handle) {
        return Math.round(Number(handle.getAttribute("aria-valuenow")));
      });
      var ok = index.every(function (k, axis) {
        return k >= 0 && k < table.sizes[axis]; // false for NaN: no position yet
      });
      if (ok) out.innerHTML = render(table, index);
    }
    var observer = new MutationObserver(update);
    handles.forEach(function (handle) {
      observer.observe(handle, { attributes: true, attributeFilter: ["aria-valuenow"] });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    function bindAll() {
      document.querySelectorAll(".lstm-explorer").forEach(bind);
    }
    // The widget manager renders after the page has loaded, view by view, and gives each view
    // its classes (lstm-explorer-readout, ...) after inserting it: watch both.
    new MutationObserver(bindAll).observe(document.body, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["class"],
    });
    bindAll();
  });
})();
