// Refreshes the state and caller part of the agent page every few seconds and enables only the
// buttons that make sense in the new state. The forms are not refreshed, so a half-typed reason stays.
(function () {
  "use strict";
  var EVERY_MS = 4000;
  var panel = document.getElementById("panel");
  var note = document.getElementById("refreshed");
  if (!panel) return;

  function applyButtons() {
    var state = panel.querySelector("[data-state]");
    if (!state) return;
    var now = state.getAttribute("data-state");
    var can = (state.getAttribute("data-can") || "").split(" ");
    document.querySelectorAll("button[data-needs]").forEach(function (button) {
      button.disabled = can.indexOf(button.getAttribute("data-needs")) < 0;
      var only = button.getAttribute("data-only");
      var unless = button.getAttribute("data-unless");
      button.hidden = (only !== null && only !== now) || (unless !== null && unless === now);
    });
  }

  function refresh() {
    fetch(panel.getAttribute("data-refresh-url"), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.redirected) {  // signed out meanwhile: show the login page, not a login form in the panel
          window.location.assign(response.url);
          return null;
        }
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        panel.innerHTML = html;  // rendered by the server with Jinja's escaping
        applyButtons();
        if (note) note.textContent = "";
      })
      .catch(function () {
        if (note) note.textContent = note.getAttribute("data-stale");
      })
      .finally(function () { window.setTimeout(refresh, EVERY_MS); });
  }

  applyButtons();
  window.setTimeout(refresh, EVERY_MS);
})();
