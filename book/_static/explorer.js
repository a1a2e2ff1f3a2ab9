// The book's explorers without a kernel (prunestab.book.explorers.Explorer.static_html):
// every combination of the controls was drawn when the notebook ran; this shows the one
// the controls now select. Shipped inside the site (no CDN), loaded on every page.
(function () {
  "use strict";

  function currentKey(explorer) {
    return Array.from(explorer.querySelectorAll("[data-control]")).map(function (control) {
      if (control.type === "range") {
        var options = JSON.parse(control.getAttribute("data-options"));
        var label = options[Number(control.value)];
        var output = control.parentNode.querySelector("output");
        if (output) output.textContent = label;
        return label;
      }
      return control.value;
    });
  }

  function sameKey(a, b) {
    return a.length === b.length && a.every(function (v, i) { return v === b[i]; });
  }

  function show(explorer) {
    var key = currentKey(explorer);
    explorer.querySelectorAll(".ps-explorer-pane").forEach(function (pane) {
      pane.hidden = !sameKey(JSON.parse(pane.getAttribute("data-key")), key);
    });
  }

  function setUp() {
    document.querySelectorAll("[data-explorer]").forEach(function (explorer) {
      explorer.querySelectorAll("[data-control]").forEach(function (control) {
        control.addEventListener("input", function () { show(explorer); });
        control.addEventListener("change", function () { show(explorer); });
      });
      explorer.querySelectorAll(".ps-explorer-static").forEach(function (note) {
        note.hidden = true;
      });
      show(explorer);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
