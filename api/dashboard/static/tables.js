// A table wider than the screen (a phone) scrolls inside its frame. Such a frame takes keyboard focus, so
// the arrow keys scroll it, and is a group named after its section's heading (not a second landmark of the
// same name); a frame that fits takes no tab stop.
(function () {
  function nameOf(wrap) {
    var table = wrap.querySelector("table");
    var section = wrap.closest("section[aria-labelledby]");
    return (table && table.getAttribute("aria-labelledby")) || (section && section.getAttribute("aria-labelledby"));
  }
  function mark() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth) {
        wrap.tabIndex = 0;
        wrap.setAttribute("role", "group");
        var labelledBy = nameOf(wrap);
        var heading = document.querySelector("main h1");
        if (labelledBy) wrap.setAttribute("aria-labelledby", labelledBy);
        else wrap.setAttribute("aria-label", heading ? heading.textContent.trim() : "Table");
      } else if (wrap.hasAttribute("tabindex")) {
        ["tabindex", "role", "aria-labelledby", "aria-label"].forEach(function (a) { wrap.removeAttribute(a); });
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
  new MutationObserver(mark).observe(document.body, { childList: true, subtree: true });
})();
