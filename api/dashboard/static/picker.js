/* Contractor and job fields that suggest matches as one types (a combobox with a listbox). Without this
   script the field is plain text, which the server resolves by name or email. Each field:
   <input role="combobox" data-pick="/dashboard/pick/..." data-picked="<hidden input id>"
          aria-controls="<listbox id>">; picking an option writes its label into the field and its
   id into the hidden input; typing again forgets the pick. */
(function () {
  "use strict";
  function setUp(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var picked = document.getElementById(input.dataset.picked);
    var timer = null, asked = 0, active = -1, options = [];

    function close() {
      list.hidden = true; input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant"); active = -1;
    }
    function choose(option) {
      input.value = option.label; picked.value = option.id; close();
    }
    function highlight(index) {
      var items = list.querySelectorAll("[role=option]");
      items.forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (items[index]) { input.setAttribute("aria-activedescendant", items[index].id); }
    }
    function show(found) {
      options = found; list.textContent = "";
      if (!found.length) {
        var none = document.createElement("li");
        none.className = "none"; none.textContent = "No match";
        none.setAttribute("role", "option"); none.setAttribute("aria-disabled", "true");
        list.appendChild(none);
      }
      found.forEach(function (option, i) {
        var li = document.createElement("li");
        li.id = list.id + "-" + i; li.setAttribute("role", "option"); li.setAttribute("aria-selected", "false");
        li.textContent = option.label;
        if (option.detail) {
          var detail = document.createElement("span");
          detail.className = "hint"; detail.textContent = " · " + option.detail;
          li.appendChild(detail);
        }
        li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(option); });
        list.appendChild(li);
      });
      list.hidden = false; input.setAttribute("aria-expanded", "true");
    }
    function ask() {
      var text = input.value.trim(), mine = ++asked;
      if (!text) { close(); return; }
      fetch(input.dataset.pick + "?q=" + encodeURIComponent(text),
            {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (found) { if (mine === asked && document.activeElement === input) { show(found); } })
        .catch(function () {});
    }
    input.addEventListener("input", function () {
      picked.value = "";
      window.clearTimeout(timer); timer = window.setTimeout(ask, 200);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(Math.min(active + 1, options.length - 1)); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(options[active]); }
      else if (event.key === "Escape") { close(); }
    });
    input.addEventListener("blur", close);
  }
  document.querySelectorAll("input[data-pick]").forEach(setUp);
})();
