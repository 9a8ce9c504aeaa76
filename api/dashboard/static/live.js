/* A page of something that changes (an assignment, a contractor) keeps itself up to date: while the thing
   is not final, it asks <main data-live="URL"> every few seconds for {final, fields: {id: text}} and
   writes each text into the element with that id; a change is announced in the page's live region
   (#live-news, aria-live="polite"). It stops once the answer says final. Form fields are never touched. */
(function () {
  "use strict";
  var root = document.querySelector("[data-live]");
  if (!root) { return; }
  var url = root.dataset.live, news = document.getElementById("live-news"), wait = 2000;
  function apply(answer) {
    var changed = [];
    Object.keys(answer.fields || {}).forEach(function (id) {
      var element = document.getElementById(id);
      if (element && element.textContent !== answer.fields[id]) {
        element.textContent = answer.fields[id];
        if (element.dataset.says) { changed.push(element.dataset.says + ": " + answer.fields[id]); }
      }
    });
    if (changed.length && news) { news.textContent = "Updated. " + changed.join(". ") + "."; }
  }
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (answer) { apply(answer); }
        if (!answer || !answer.final) { window.setTimeout(poll, wait); }
      })
      .catch(function () { window.setTimeout(poll, wait * 2); });
  }
  window.setTimeout(poll, wait);
})();
