// Keeps a page's figures live without reloading it: fetches the JSON at `root`'s data-url every `everyMs`
// and hands it to `draw`. A failed fetch says so in `status` (root's data-stale text) and marks root "stale";
// a redirect (signed out meanwhile) shows the login page. Shared by the live board and the wallboard.
window.livePoll = function (root, status, everyMs, draw) {
  "use strict";
  function refresh() {
    fetch(root.getAttribute("data-url"), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.redirected) {
          window.location.assign(response.url);
          return null;
        }
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        if (data === null) return;
        draw(data);
        status.textContent = "";
        root.classList.remove("stale");
      })
      .catch(function () {
        status.textContent = root.getAttribute("data-stale");
        root.classList.add("stale");
      })
      .finally(function () { window.setTimeout(refresh, everyMs); });
  }
  window.setTimeout(refresh, everyMs);
};
