// When a build or an export shown on the page finishes, reload once so the new version or
// the download link appears. Without JavaScript the page has a refresh link instead.
(function () {
  "use strict";
  document.addEventListener("chorus:job-finished", function (event) {
    var el = document.getElementById(event.detail.id);
    if (el && el.closest("[data-reload-on-finish]")) window.location.reload();
  });
})();
