// "再加一项": a list of items (the agreement's terms) grows by a copy of its last row, emptied
// and renumbered (`terms.1.content` → `terms.2.content`). Without JavaScript the server
// offers one blank row after the filled ones instead.
(function () {
  "use strict";
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    var list = document.querySelector('[data-rows="' + button.getAttribute("data-add-row") + '"]');
    if (!list) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = list.querySelectorAll("[data-row]");
      var last = rows[rows.length - 1];
      var index = rows.length;
      var copy = last.cloneNode(true);
      var from = new RegExp("\\." + (index - 1) + "\\.", "g");
      var to = "." + index + ".";
      copy.querySelectorAll("[name],[id],[for],[aria-describedby]").forEach(function (node) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attribute) {
          var value = node.getAttribute(attribute);
          if (value) { node.setAttribute(attribute, value.replace(from, to)); }
        });
        if (node.matches("input[type=radio], input[type=checkbox]")) { node.checked = false; }
        else if (node.matches("input, textarea")) { node.value = ""; }
        else if (node.matches("select")) { node.selectedIndex = 0; }
      });
      copy.querySelectorAll(".field-error").forEach(function (node) { node.remove(); });
      copy.querySelectorAll(".invalid").forEach(function (node) { node.classList.remove("invalid"); });
      var heading = copy.querySelector("h3");
      if (heading) { heading.textContent = "第 " + (index + 1) + " 项"; }
      last.after(copy);
      var first = copy.querySelector("input, textarea, select");
      if (first) { first.focus(); }
    });
  });
})();
