"""What the widget tests measure on a loaded page: what overflows the screen, and every
slider moved with the keyboard (used by ``tests/book_tour.py``; checked by
``tests/test_book_widgets.py``).
"""

from __future__ import annotations

import time

from chromium import Chromium

KEY_TIMEOUT = 20.0  # seconds for a slider to answer a key press (generous: a busy machine)

# What overflows: the document, code and output blocks, and the widest culprits.
LAYOUT_JS = r"""
(() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o !== "visible") return true;
    }
    return false;
  };
  const describe = (el) => {
    const cls = typeof el.className === "string" ? el.className.split(/\s+/).slice(0, 3) : [];
    return `${el.tagName.toLowerCase()}.${cls.join(".")}: ${(el.textContent || "")
        .trim().slice(0, 60)}`;
  };
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > width + 1 && !clipped(el)) wide.push(describe(el));
    if (wide.length >= 8) break;
  }
  // Blocks that cut off their own content; the previous/next links at the page's foot hide
  // what does not fit in them (the theme's overflow-x: hidden), so a long title is cut off.
  const hidden = [];
  for (const el of document.querySelectorAll(
      ".bd-article pre, .bd-article div.cell_output, .bd-article div.output, .prev-next-area a")) {
    if (el.closest("mjx-container, .lstm-explorer")) continue;
    if (el.scrollWidth > el.clientWidth + 1)
      hidden.push(`${describe(el)} (${el.scrollWidth} > ${el.clientWidth})`);
  }
  // Display equations wider than their box: a reader sees them cut off at the right edge.
  const math = [...document.querySelectorAll('mjx-container[display="true"]')]
      .filter((el) => el.scrollWidth > el.clientWidth + 1)
      .map((el) => `${describe(el)} (${el.scrollWidth} > ${el.clientWidth})`);
  const svgs = [...document.querySelectorAll(".bd-article img")]
      .filter((img) => /\.svg$/i.test(img.currentSrc || img.src))
      .map((img) => {
        const fig = img.closest("figure");
        const caption = fig && fig.querySelector("figcaption");
        const scrolls = !!fig && fig.scrollWidth > fig.clientWidth + 1;
        // Where the caption is with the figure scrolled to its right end: in place (sticky).
        let caption_shift = 0;
        if (scrolls && caption) {
          const before = caption.getBoundingClientRect().left;
          fig.scrollLeft = fig.scrollWidth;
          caption_shift = caption.getBoundingClientRect().left - before;
          fig.scrollLeft = 0;
        }
        return {src: img.currentSrc || img.src, alt: img.alt,
                width: img.getBoundingClientRect().width,
                figure: fig ? [...fig.classList] : [],
                scrolls, caption_shift,
                tabindex: fig ? fig.getAttribute("tabindex") : null,
                // what the caption adds after its text: a cue that the diagram goes on
                cue: caption && caption.querySelector(".caption-text")
                    ? getComputedStyle(caption.querySelector(".caption-text"), "::after").content
                    : null,
                caption_width: caption ? caption.getBoundingClientRect().width : 0,
                box_width: fig ? fig.clientWidth : 0};
      });
  // Code (book/_ext/code_lines.py): a wrapped line's later parts start right of the line's
  // first character, never at or left of it; and the selected block's text, and the text the
  // copy button takes (a detached copy's innerText, as sphinx-copybutton's filterText), are
  // the block's own text.
  const code = {blocks: 0, shown: 0, lines: 0, wrapped: 0, flat: [], copies: []};
  const selection = window.getSelection();
  for (const pre of document.querySelectorAll(".bd-article div.highlight pre")) {
    code.blocks++;
    for (const line of pre.querySelectorAll(":scope > span.code-line")) {
      code.lines++;
      const range = document.createRange();
      range.selectNodeContents(line);
      const boxes = [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0);
      if (!boxes.length) continue;
      const top = Math.min(...boxes.map((r) => r.top));
      const later = boxes.filter((r) => r.top > top + 2);
      if (!later.length) continue;
      code.wrapped++;
      const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
      let first = null;
      for (let node = walker.nextNode(); node && !first; node = walker.nextNode()) {
        const at = node.data.search(/[^ \n]/);
        if (at >= 0) {
          const char = document.createRange();
          char.setStart(node, at);
          char.setEnd(node, at + 1);
          first = char.getBoundingClientRect();
        }
      }
      const start = Math.min(...later.map((r) => r.left));
      if (!first || start <= first.left + 1)
        code.flat.push(`${line.textContent.trim().slice(0, 60)} (first character at ${
            first ? first.left : "?"} px, a wrapped part at ${start} px)`);
    }
    const all = document.createRange();
    all.selectNodeContents(pre);
    selection.removeAllRanges();
    selection.addRange(all);
    // a block in a closed <details> (a hidden cell, an exercise's solution) selects nothing
    const shown = pre.checkVisibility();
    if (shown) code.shown++;
    const selected = shown ? selection.toString() : null;
    const copied = pre.cloneNode(true).innerText;
    const text = pre.textContent;
    if ((shown && selected !== text.replace(/\n$/, "")) || copied !== text)
      code.copies.push({block: text.slice(0, 60), selected: selected.slice(0, 200),
                        copied: copied.slice(0, 200), text: text.slice(0, 200)});
  }
  selection.removeAllRanges();
  // Glued numbers and dates broken over two lines ("-9.38e-" above "07").
  const split = [...document.querySelectorAll(".bd-article span.pasted-text")]
      .filter((el) => el.getClientRects().length > 1)
      .map((el) => el.textContent);
  // Names in tables broken mid-word: inline code on more than one line, whose text goes on
  // a new line anywhere but after a space, hyphen, slash, underscore or dot (the breaks
  // book/_ext/code_lines.py allows), or before a space. Reported with a "|" at the break.
  const names = [];
  for (const el of document.querySelectorAll(".bd-article table code.literal")) {
    if (el.getClientRects().length < 2) continue;
    const chars = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.data.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const box = [...range.getClientRects()].find((r) => r.height > 0);
        chars.push({c: node.data[i], top: box ? box.top : null});
      }
    }
    const shown = chars.filter((ch) => ch.top !== null && !/\s/.test(ch.c));
    for (let k = 1; k < shown.length; k++) {
      if (shown[k].top <= shown[k - 1].top + 2) continue;  // the same line
      const at = chars.indexOf(shown[k]);
      const before = chars[at - 1].c;
      if (!/[\s\-\/_.]/.test(before))
        names.push(el.textContent.slice(0, at) + "|" + el.textContent.slice(at));
    }
  }
  // Tables wider than their box (which then scrolls sideways): columns, widths, first header.
  const tables = [...document.querySelectorAll(".bd-article table")].map((t) => ({
    columns: t.rows[0] ? t.rows[0].cells.length : 0,
    width: Math.round(t.getBoundingClientRect().width),
    box: (t.closest(".pst-scrollable-table-container") || t.parentElement).clientWidth,
    head: t.rows[0] ? t.rows[0].textContent.trim().replace(/\s+/g, " ").slice(0, 60) : "",
    // the line below the table's box that says it scrolls (book/assets/a11y.js)
    cue: (() => {
      const box = t.closest(".pst-scrollable-table-container") || t.parentElement;
      const next = box.nextElementSibling;
      return next && next.classList.contains("table-scroll-cue") && next.checkVisibility()
          ? next.textContent : null;
    })(),
  })).filter((t) => t.width > t.box + 1 || t.cue);
  return {width, scroll_width: document.documentElement.scrollWidth, wide, hidden, math,
          svgs, code, split, names, tables};
})()
"""

# Every slider on the page, and every explorer's positions and read-out, as a reader sees them.
STATE_JS = r"""
(() => {
  const boxes = [...document.querySelectorAll(".lstm-explorer")];
  const text = (el) => (el ? el.textContent.trim() : null);
  const sliders = [...document.querySelectorAll(".widget-slider")].map((el) => {
    const handle = el.querySelector(".noUi-handle");
    return {explorer: boxes.indexOf(el.closest(".lstm-explorer")),
            label: text(el.querySelector(".widget-readout")),
            now: handle && Number(handle.getAttribute("aria-valuenow")),
            max: handle && Number(handle.getAttribute("aria-valuemax"))};
  });
  const explorers = boxes.map((box) => ({
    kind: [...box.classList].filter((c) => c.startsWith("lstm-explorer-"))
        .map((c) => c.slice("lstm-explorer-".length))[0] || null,
    bound: box.dataset.lstmExplorer === "bound",
    positions: [...box.querySelectorAll(".widget-slider .widget-readout")].map(text),
    rows: [...box.querySelectorAll(".lstm-explorer-readout tr")]
        .map((tr) => [...tr.cells].slice(0, 2).map(text)),
  }));
  return {sliders, explorers};
})()
"""


def press(browser: Chromium, session: str, key: str, code: int) -> None:
    for kind in ("rawKeyDown", "keyUp"):
        browser.send(
            "Input.dispatchKeyEvent",
            {"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code},
            session,
        )


def move_every_slider(browser: Chromium, session: str) -> dict:
    """Focus each slider's handle in turn and press one arrow key; the states around each."""
    deadline = time.monotonic() + KEY_TIMEOUT
    state = browser.evaluate(session, STATE_JS)
    while not all(e["bound"] for e in state["explorers"]) and time.monotonic() < deadline:
        time.sleep(0.1)
        state = browser.evaluate(session, STATE_JS)
    moves = []
    for n, slider in enumerate(state["sliders"]):
        before = state
        right = slider["now"] < slider["max"]
        browser.evaluate(
            session,
            f'document.querySelectorAll(".widget-slider")[{n}]'
            '.querySelector(".noUi-handle").focus()',
        )
        press(browser, session, *(("ArrowRight", 39) if right else ("ArrowLeft", 37)))
        deadline = time.monotonic() + KEY_TIMEOUT
        while True:
            state = browser.evaluate(session, STATE_JS)
            moved = state["sliders"][n]
            if moved["now"] != slider["now"] and moved["label"] != slider["label"]:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        # The read-outs follow the handle: read until two reads 0.1 s apart agree, however
        # slow the machine (no fixed pause that a busy one could outlast).
        while time.monotonic() < deadline:
            time.sleep(0.1)
            again = browser.evaluate(session, STATE_JS)
            if again == state:
                break
            state = again
        moves.append(
            {"slider": n, "key": "right" if right else "left", "before": before, "after": state}
        )
    return {"initial": moves[0]["before"] if moves else state, "moves": moves}
