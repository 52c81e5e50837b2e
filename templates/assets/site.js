// replyrank: sortable, filterable tables. The pages work without this script.
(function () {
  "use strict";
  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    var body = table.tBodies[0];
    table.querySelectorAll("thead th[data-key]").forEach(function (th) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var key = th.getAttribute("data-key");
        var numeric = th.getAttribute("data-type") === "num";
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        if (th.getAttribute("aria-sort") === null) { ascending = !numeric || th.getAttribute("data-better") === "low"; }
        table.querySelectorAll("thead th").forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.getAttribute("data-" + key), y = b.getAttribute("data-" + key);
          var c;
          if (numeric) {
            x = x === "" ? Infinity : parseFloat(x);
            y = y === "" ? Infinity : parseFloat(y);
            c = x === y ? 0 : (x < y ? -1 : 1);
          } else {
            c = x.localeCompare(y, document.documentElement.lang);
          }
          return ascending ? c : -c;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  document.querySelectorAll("form[data-filters]").forEach(function (form) {
    form.hidden = false;
    var table = form.parentNode.querySelector("table[data-sortable]");
    function apply() {
      var wanted = {};
      form.querySelectorAll("select[data-filter]").forEach(function (s) { wanted[s.getAttribute("data-filter")] = s.value; });
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var show = Object.keys(wanted).every(function (k) { return !wanted[k] || row.getAttribute("data-" + k) === wanted[k]; });
        row.hidden = !show;
      });
    }
    form.querySelectorAll("select[data-filter]").forEach(function (s) { s.addEventListener("change", apply); });
  });
})();
