// autoalign web app: keyboard shortcuts for the review queue and the decision form.
// Served from the app itself (the Content-Security-Policy allows no inline script).
(function () {
  "use strict";
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }
  var KEYS = { c: "confirm", d: "dismiss", u: "unsure" };
  document.addEventListener("keydown", function (event) {
    var form = document.getElementById("decide-form");
    if (form && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      if (form.querySelector("input[name=decision]:checked")) { form.submit(); }
      event.preventDefault();
      return;
    }
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var key = event.key.toLowerCase();
    if (form && KEYS[key]) {
      var radio = form.querySelector("input[name=decision][value=" + KEYS[key] + "]");
      radio.checked = true;
      if (!event.shiftKey) { form.submit(); }
      event.preventDefault();
      return;
    }
    if (form && key === "n") { window.location.href = "/queue"; return; }
    var rows = Array.prototype.slice.call(document.querySelectorAll("tr.entry"));
    if (!rows.length) { return; }
    var at = rows.findIndex(function (r) { return r.classList.contains("current"); });
    if (key === "j" || key === "k") {
      if (at >= 0) { rows[at].classList.remove("current"); }
      at = key === "j" ? Math.min(at + 1, rows.length - 1) : Math.max(at - 1, 0);
      rows[at].classList.add("current");
      rows[at].scrollIntoView({ block: "nearest" });
      event.preventDefault();
    } else if (key === "enter" && at >= 0) {
      window.location.href = rows[at].getAttribute("data-href");
    }
  });
})();
