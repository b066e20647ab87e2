// Copy buttons: <button data-copy="ID"> copies the value (or text) of the element ID to the
// clipboard and says so in its own label for a moment (announced through aria-live).
(function () {
  "use strict";
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP pages (a local run) have no clipboard API: select and copy instead.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    event.preventDefault();
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = "value" in source ? source.value : source.textContent;
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    copyText(text.trim()).then(
      function () { button.textContent = button.getAttribute("data-done") || "Copied"; },
      function () {
        if (source.select) source.select();
        button.textContent = button.getAttribute("data-failed") || "Select and copy";
      }
    ).then(function () {
      window.setTimeout(function () { button.textContent = label; }, 2500);
    });
  });
})();
