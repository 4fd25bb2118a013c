// Sort and filter the run report table in place. The page is complete without this file:
// the server already sorts the table worst first; this only re-orders and hides rows.
(function () {
  "use strict";
  var table = document.getElementById("report");
  var form = document.getElementById("report-filters");
  if (!table || !form) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  rows.forEach(function (row, i) { row.dataset.order = i; });
  var sorted = { key: "severity", dir: -1 };

  function value(row, key, numeric) {
    var raw = row.dataset[key] || "";
    if (!numeric) return raw.toLowerCase();
    return raw === "" ? null : parseFloat(raw);
  }

  function sortBy(th) {
    var key = th.dataset.key, numeric = th.dataset.type === "number";
    var dir = sorted.key === key ? -sorted.dir : (key === "severity" ? -1 : 1);
    sorted = { key: key, dir: dir };
    rows.sort(function (a, b) {
      var x = value(a, key, numeric), y = value(b, key, numeric);
      if (x === null || y === null) {  // missing figures sort last either way
        if (x !== y) return x === null ? 1 : -1;
      } else if (x !== y) {
        return (x < y ? -1 : 1) * dir;
      }
      return a.dataset.order - b.dataset.order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.querySelectorAll("th[data-key]").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
  }

  table.querySelectorAll("th[data-key]").forEach(function (th) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    button.addEventListener("click", function () { sortBy(th); });
  });

  function filter() {
    var text = form.elements.q.value.trim().toLowerCase();
    var status = form.elements.status.value, detector = form.elements.detector.value, shown = 0;
    rows.forEach(function (row) {
      var d = row.dataset;
      var keep = (!text || (d.feature + " " + d.metric).toLowerCase().indexOf(text) >= 0) &&
        (!status || (status === "problems" ? Number(d.severity) >= 2 : d.status === status)) &&
        (!detector || d.detector === detector);
      row.hidden = !keep;
      if (keep) shown += 1;
    });
    document.getElementById("report-shown").textContent = shown + " of " + rows.length;
  }

  form.hidden = false;
  form.addEventListener("input", filter);
  form.addEventListener("change", filter);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
})();
