// The navigation bar's menus (<details>): one open at a time, closed by a click elsewhere or by Escape.
(function () {
  "use strict";
  var menus = document.querySelectorAll("nav.main-nav details.nav-group");
  function closeAll(except) {
    menus.forEach(function (menu) { if (menu !== except) { menu.open = false; } });
  }
  menus.forEach(function (menu) {
    menu.addEventListener("toggle", function () { if (menu.open) { closeAll(menu); } });
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest("nav.main-nav details.nav-group")) { closeAll(null); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeAll(null); }
  });
})();
