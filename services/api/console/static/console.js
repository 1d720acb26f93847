// nls console: live fragments by polling, and the topic list that follows the pack.
// No framework, nothing fetched from elsewhere: the page works without this file,
// it only stops updating itself.
(function () {
  "use strict";
  var PERIOD_MS = 1000;

  function signInAgain() {
    var here = window.location.pathname + window.location.search;
    window.location.assign("/console/sign-in?next=" + encodeURIComponent(here));
  }

  function follow(region) {
    var url = region.getAttribute("data-live");
    var timer = null;
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.status === 401) { signInAgain(); return null; }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          var final = response.headers.get("X-Console-Final") === "1";
          return response.text().then(function (html) {
            // keep keyboard focus where it was when the fragment is redrawn
            var focused = document.activeElement && region.contains(document.activeElement)
              ? document.activeElement.id : null;
            region.innerHTML = html;
            region.setAttribute("data-final", final ? "true" : "false");
            if (focused) {
              var again = document.getElementById(focused);
              if (again) { again.focus(); }
            }
            if (final && region.getAttribute("data-reload-on-final") === "true") {
              window.location.reload();  // the rest of the page depends on it: redraw it all
              return;
            }
            if (!final) { timer = window.setTimeout(poll, PERIOD_MS); }
          });
        })
        .catch(function () {
          region.setAttribute("data-stale", "true");
          timer = window.setTimeout(poll, PERIOD_MS * 3);
        });
    }
    if (region.getAttribute("data-final") !== "true") {
      timer = window.setTimeout(poll, PERIOD_MS);
    }
    return function () { if (timer) { window.clearTimeout(timer); } };
  }

  function topicsFollowPack(select) {
    var input = document.getElementById(select.getAttribute("data-topic-input"));
    if (!input) { return; }
    function update() { input.setAttribute("list", "topics-" + select.value); }
    select.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), follow);
    Array.prototype.forEach.call(document.querySelectorAll("[data-topic-input]"), topicsFollowPack);
  });
})();
