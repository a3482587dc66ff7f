// Code and outputs that scroll sideways must be reachable with the keyboard (axe-core:
// scrollable-region-focusable). The theme gives such boxes tabindex=0 when the page
// loads, but a box inside a folded part (a code cell hidden in <details>, a solution
// behind its toggle button) cannot scroll while folded and keeps tabindex=-1 after it is
// unfolded. Re-check the theme's own selection whenever something unfolds.
(() => {
  const SCROLLABLE = [
    "pre", ".nboutput > .output_area", ".cell_output > .output", ".jp-RenderedHTMLCommon",
    ".pst-scrollable-table-container",
  ].join(", ");
  const update = () => {
    for (const el of document.querySelectorAll(SCROLLABLE)) {
      if (el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight) el.tabIndex = 0;
    }
  };
  // "toggle" does not bubble: listen in the capture phase
  document.addEventListener("toggle", update, true);
  document.addEventListener("click", (event) => {
    // sphinx-togglebutton: its button, or the whole title of the folded admonition
    if (event.target.closest && event.target.closest(".toggle")) {
      requestAnimationFrame(() => requestAnimationFrame(update));
    }
  });
})();
