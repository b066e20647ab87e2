// Live progress bars: every element with data-job-progress is refreshed from its fragment
// URL once a second until the job has finished, or until its worker has stopped reporting
// (data-stale: the fragment then says so and offers a reload). Without JavaScript the page
// still shows the state it was rendered with and a refresh link.
(function () {
  "use strict";
  function poll(el) {
    if (el.dataset.finished === "1" || el.dataset.stale === "1") return;
    window.setTimeout(function () {
      fetch(el.dataset.jobProgress, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var tpl = document.createElement("template");
          tpl.innerHTML = html.trim();
          var fresh = tpl.content.firstElementChild;
          el.replaceWith(fresh);
          if (fresh.dataset.finished === "1") {
            document.dispatchEvent(new CustomEvent("chorus:job-finished", { detail: { id: fresh.id } }));
          }
          poll(fresh);
        })
        .catch(function () { poll(el); });
    }, 1000);
  }
  function start() { document.querySelectorAll("[data-job-progress]").forEach(poll); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
