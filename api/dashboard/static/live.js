/* A page of something that changes (an assignment, a contractor) keeps itself up to date: while the thing
   is not final, it asks <main data-live="URL"> every few seconds for {final, fields: {id: text}} and
   writes each text into the element with that id; a change is announced in the page's live region
   (#live-news, aria-live="polite"). It stops once the answer says final. While nothing changes it asks less
   and less often (up to once a minute), and not at all while the tab is hidden, so a page left open on a
   thing that waits for days costs next to nothing. Form fields are never touched. */
(function () {
  "use strict";
  var root = document.querySelector("[data-live]");
  if (!root) { return; }
  var url = root.dataset.live, news = document.getElementById("live-news");
  var FIRST = 2000, LONGEST = 60000, wait = FIRST, timer = null, done = false;
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
    return changed.length > 0;
  }
  function later(changed) {
    wait = changed ? FIRST : Math.min(wait * 1.5, LONGEST);
    timer = document.hidden ? null : window.setTimeout(poll, wait);
  }
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        var changed = answer ? apply(answer) : false;
        if (answer && answer.final) { done = true; return; }
        later(changed);
      })
      .catch(function () { later(false); });
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !done && timer === null) { wait = FIRST; timer = window.setTimeout(poll, wait); }
    if (document.hidden && timer !== null) { window.clearTimeout(timer); timer = null; }
  });
  timer = window.setTimeout(poll, wait);
})();
