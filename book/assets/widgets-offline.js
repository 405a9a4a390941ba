// Loaded on pages with Jupyter widgets, after require.js and before the widget manager
// (embed-amd.js from @jupyter-widgets/html-manager), through nb_ipywidgets_js in _config.yml.
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
