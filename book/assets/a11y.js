// Accessibility fixes for what the widget manager draws in the page (#14), and for the figures
// that scroll sideways on a phone. Loaded on every page through html_js_files in _config.yml.
//
// ipywidgets' sliders (drawn by @jupyter-widgets/html-manager with noUiSlider) show a label
// and a read-out, but the handle a keyboard or screen-reader user operates (role="slider")
// is tied to neither: it has no name (WCAG 4.1.2), and its aria-valuetext is the raw float
// ("2.000000000000001") where the read-out shows "2.00" (WCAG 1.3.1). Here each handle is
// named by its visible label and speaks the read-out's text; the editable read-out, a tab
// stop of its own, becomes a named text box.
(function () {
  "use strict";
  var count = 0;

  function nameSlider(box) {
    if (box.dataset.a11yNamed) return;
    var label = box.querySelector(":scope > .widget-label");
    var handle = box.querySelector('[role="slider"]');
    var readout = box.querySelector(":scope > .widget-readout");
    if (!label || !handle) return; // not drawn yet: the observer comes back
    box.dataset.a11yNamed = "1";
    // The manager writes the model's missing tooltip as the string "null".
    if (label.getAttribute("title") === "null") label.removeAttribute("title");
    if (!label.id) label.id = "widget-label-" + ++count;
    handle.setAttribute("aria-labelledby", label.id);
    if (!readout) return;
    readout.setAttribute("role", "textbox");
    readout.setAttribute("aria-labelledby", label.id);
    var sync = function () {
      var shown = readout.textContent.trim();
      if (shown && handle.getAttribute("aria-valuetext") !== shown) {
        handle.setAttribute("aria-valuetext", shown);
      }
    };
    sync();
    // Both change when the reader moves the slider; the read-out's text wins.
    new MutationObserver(sync).observe(readout, {
      childList: true,
      characterData: true,
      subtree: true,
    });
    new MutationObserver(sync).observe(handle, {
      attributes: true,
      attributeFilter: ["aria-valuetext"],
    });
  }

  function nameAll() {
    document.querySelectorAll(".widget-slider").forEach(nameSlider);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var view = 'script[type="application/vnd.jupyter.widget-view+json"]';
    if (!document.querySelector(view)) return;
    nameAll();
    // The manager draws the widgets after this script runs, asynchronously.
    new MutationObserver(nameAll).observe(document.body, { childList: true, subtree: true });
  });
})();

// A figure that scrolls sideways (the cell diagrams on a phone, layout.css) is a keyboard stop
// while it scrolls, so that the arrow keys can move it (WCAG 2.1.1); its caption names it, and
// says that the rest of the diagram is to the side (class "scrolls", layout.css).
(function () {
  "use strict";
  function update() {
    document.querySelectorAll("figure.cell-diagram").forEach(function (fig) {
      var scrolls = fig.scrollWidth > fig.clientWidth + 1;
      if (scrolls) fig.setAttribute("tabindex", "0");
      else fig.removeAttribute("tabindex");
      fig.classList.toggle("scrolls", scrolls);
    });
  }
  window.addEventListener("load", update);
  window.addEventListener("resize", update);
})();

// A table wider than the screen scrolls sideways in the theme's box (a keyboard stop, the
// theme's own); on a phone its first columns fill the screen and nothing showed that more
// follow (chapter 8's table of every intermediate: "output", "long-term" and "short-term" out
// of sight). While the box scrolls, a line below it says so; it goes when the table fits.
(function () {
  "use strict";
  var CUE = "table-scroll-cue";
  function update() {
    document.querySelectorAll(".bd-article .pst-scrollable-table-container").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      var next = box.nextElementSibling;
      var cue = next && next.classList.contains(CUE) ? next : null;
      if (scrolls && !cue) {
        cue = document.createElement("p");
        cue.className = CUE;
        cue.textContent = "The table is wider than the screen: scroll it sideways to see its other columns.";
        box.after(cue);
      } else if (!scrolls && cue) {
        cue.remove();
      }
    });
  }
  window.addEventListener("load", update);
  window.addEventListener("resize", update);
})();
