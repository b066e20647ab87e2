// The annotator page, keyboard first. Without JavaScript the forms still work with a mouse
// or touch; with it:
//   number keys        pick the primary label (toggle a label in multi-label projects)
//   Shift + number     toggle a secondary label
//   Enter              submit       Space  play / pause the clip
//   U                  undo the last answer (the page comes back with it selected)
//   S                  open the skip reasons with the first one chosen; Enter skips,
//                      arrows choose another reason, Esc closes them
//   Esc                leave a text box
// Selecting words of a text passage copies them, widened to whole words, into the
// evidence box. Time on item is measured from page load to submit.
(function () {
  "use strict";
  var form = document.getElementById("annotate-form");
  var undoForm = document.getElementById("undo-form");
  var skipForm = document.getElementById("skip-form");
  var skipDetails = document.getElementById("skip-details");
  var passage = document.querySelector(".item-text");
  var evidence = document.getElementById("evidence");
  var clip = document.getElementById("clip");
  var started = performance.now();

  function keyOf(event) {
    var code = event.code || "";
    if (/^Digit\d$/.test(code)) return code.slice(5);
    if (/^Numpad\d$/.test(code)) return code.slice(6);
    return (event.key || "").toLowerCase();
  }

  function categoryFor(key) {
    if (!form || !key) return null;
    var items = form.querySelectorAll("[data-kb]");
    for (var i = 0; i < items.length; i++) {
      if (items[i].dataset.kb === key) return items[i];
    }
    return null;
  }

  function choose(li, shift) {
    var mode = form.dataset.mode;
    if (mode === "multi_label") {
      var box = li.querySelector("input[data-role=label]");
      box.checked = !box.checked;
      if (box.checked) {
        // "None" excludes the others and the others exclude "none".
        var isNone = li.dataset.category === "none";
        form.querySelectorAll("input[data-role=label]").forEach(function (other) {
          if (other === box) return;
          if (isNone || other.value === "none") other.checked = false;
        });
      }
      box.focus();
      return;
    }
    if (shift) {
      var secondary = li.querySelector("input[data-role=secondary]");
      if (!secondary) return;
      var primary = li.querySelector("input[data-role=primary]");
      if (primary.checked) return; // already the primary label
      secondary.checked = !secondary.checked;
      secondary.focus();
      return;
    }
    var radio = li.querySelector("input[data-role=primary]");
    radio.checked = true;
    var same = li.querySelector("input[data-role=secondary]");
    if (same) same.checked = false;
    radio.focus();
  }

  function togglePlay() {
    if (!clip) return;
    if (clip.paused) clip.play(); else clip.pause();
  }

  function openSkip() {
    skipDetails.open = true;
    var checked = skipForm.querySelector("input[name=reason]:checked");
    var first = checked || skipForm.querySelector("input[name=reason]");
    first.checked = true;
    first.focus();
  }

  // The evidence span: the words of the passage the annotator selected.
  function offsetIn(container, node, offset) {
    var range = document.createRange();
    range.selectNodeContents(container);
    range.setEnd(node, offset);
    return range.toString().length;
  }

  function takeEvidence() {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return;
    var range = selection.getRangeAt(0);
    if (!passage.contains(range.startContainer) || !passage.contains(range.endContainer)) return;
    var text = passage.textContent;
    var start = offsetIn(passage, range.startContainer, range.startOffset);
    var end = offsetIn(passage, range.endContainer, range.endOffset);
    while (start > 0 && /\S/.test(text.charAt(start - 1))) start--;
    while (end < text.length && /\S/.test(text.charAt(end))) end++;
    var words = text.slice(start, end).replace(/\s+/g, " ").trim();
    if (words) evidence.value = words;
  }

  if (passage && evidence) {
    passage.addEventListener("mouseup", takeEvidence);
    passage.addEventListener("touchend", takeEvidence);
    passage.addEventListener("keyup", takeEvidence);
  }

  if (form) {
    form.addEventListener("submit", function () {
      document.getElementById("time-ms").value = String(Math.round(performance.now() - started));
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    var target = event.target;
    var key = keyOf(event);
    if (skipForm && skipForm.contains(target)) {
      if (key === "enter" && target.tagName !== "BUTTON") {
        event.preventDefault();
        skipForm.requestSubmit();
      }
      if (key === "escape") { skipDetails.open = false; skipDetails.querySelector("summary").focus(); }
      return;
    }
    if (target.matches && target.matches("textarea, input[type=text], select")) {
      if (key === "escape") target.blur();
      return;
    }
    if (target.tagName === "BUTTON" || target.tagName === "A") {
      if (key === "enter" || key === " ") return; // the focused control does its own thing
    }
    if (key === " ") {
      if (clip) { event.preventDefault(); togglePlay(); }
      return;
    }
    if (key === "enter") {
      if (form) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (key === "u" && undoForm) { event.preventDefault(); undoForm.requestSubmit(); return; }
    if (key === "s" && skipForm) {
      event.preventDefault();
      openSkip();
      return;
    }
    var li = categoryFor(key);
    if (li && form) { event.preventDefault(); choose(li, event.shiftKey); }
  });
})();
