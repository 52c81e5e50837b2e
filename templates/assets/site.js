// replyrank: sortable, filterable tables, search, compare, and the state of them in the URL.
// The pages work without this script.
(function () {
  "use strict";
  var lang = document.documentElement.lang;

  // An archived copy says so, and links to the same page on the live site.
  var banner = document.querySelector("[data-snapshot]");
  var dated = /\/archive\/(\d{4}-\d{2}-\d{2})\//.exec(location.pathname);
  var here = document.querySelector("[data-thinned-here]");
  if (banner && dated && !here) {
    banner.hidden = false;
    banner.querySelector("[data-latest]").href = location.pathname.replace(dated[0], "/");
  }

  // The 404 page: a page of a thinned date goes to the same page of the snapshot kept whole
  // nearest to it (the build's list: "date=kept" pairs), which says so; any other file of that
  // date, or a page the kept snapshot lacks, gets a note here with that day's data download.
  var thinned = new URLSearchParams(location.search).get("thinned");
  if (thinned && !/^\d{4}-\d{2}-\d{2}$/.test(thinned)) { thinned = null; }
  var deep = /^(.*\/)archive\/(\d{4}-\d{2}-\d{2})\/(.*)$/.exec(location.pathname);
  if (here && deep) {
    var kept = null;
    here.getAttribute("data-redirects").split(" ").forEach(function (pair) {
      var p = pair.split("=");
      if (p[0] === deep[2]) { kept = p[1]; }
    });
    var page = deep[3] === "" || /(\/|\.html)$/.test(deep[3]);
    if (kept && page) {
      location.replace(deep[1] + "archive/" + kept + "/" + deep[3] + "?thinned=" + deep[2] + location.hash);
    } else if (kept || thinned) {
      here.querySelector("[data-csv]").href = deep[1] + "archive/" + (kept ? deep[2] : thinned) + "/data/leaderboard.csv";
      here.querySelector("[data-kept]").href = deep[1] + "archive/" + (kept || deep[2]) + "/" + (kept ? deep[3] : "");
      here.hidden = false;
    }
  }

  // Sent here from a thinned date's page: say so, in the page's language, with that day's data.
  var note = document.querySelector("[data-thinned-note]");
  if (note && dated && thinned && !here) {
    note.textContent = note.getAttribute("data-thinned-note").split("{date}").join(thinned)
      .split("{kept}").join(dated[1]) + " ";
    var csv = document.createElement("a");
    csv.href = location.pathname.slice(0, dated.index) + "/archive/" + thinned + "/data/leaderboard.csv";
    csv.textContent = "leaderboard.csv";
    note.appendChild(csv);
    note.hidden = false;
  }

  // The chart of every shown brand's score and interval (dots and whiskers), drawn from the
  // table's rows, which hold its figures: the score as shown, its interval (data-lo, data-hi)
  // and the interval in words (the score cell's title).
  document.querySelectorAll("[data-dots-figure]").forEach(function (figure) {
    var table = figure.parentNode.querySelector("table.board");
    var list = figure.querySelector("[data-dots]");
    if (!table) { return; }
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var lo = parseFloat(row.getAttribute("data-lo")), hi = parseFloat(row.getAttribute("data-hi"));
      var ci = row.querySelector(".ci"), shown = row.querySelector("td.score b");
      if (isNaN(lo) || !ci || !shown) { return; }
      var li = document.createElement("li");
      li.setAttribute("data-id", row.getAttribute("data-id"));
      li.setAttribute("data-lo", row.getAttribute("data-lo"));
      li.setAttribute("data-hi", row.getAttribute("data-hi"));
      var span = function (cls, text) {
        var e = document.createElement("span");
        e.className = cls;
        if (text) { e.textContent = text; }
        li.appendChild(e);
        return e;
      };
      span("name", row.getAttribute("data-name"));
      var track = span("track");
      track.style.setProperty("--l", lo + "%");
      track.style.setProperty("--w", Math.max(hi - lo, 0.3).toFixed(1) + "%");
      track.style.setProperty("--p", ci.style.getPropertyValue("--p"));
      var val = span("val", shown.textContent);
      var words = document.createElement("span");
      words.className = "vh";
      words.textContent = " (" + ci.title + ")";
      val.appendChild(words);
      list.appendChild(li);
    });
    figure.hidden = false;
  });

  function sortBy(table, key, ascending) {
    var body = table.tBodies[0];
    var th = table.querySelector("thead th[data-key='" + key + "']");
    if (!th) { return; }
    var numeric = th.getAttribute("data-type") === "num";
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
        c = x.localeCompare(y, lang);
      }
      return ascending ? c : -c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  var onSort = [];
  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    table.querySelectorAll("thead th[data-key]").forEach(function (th) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        if (th.getAttribute("aria-sort") === null) { ascending = !numeric || th.getAttribute("data-better") === "low"; }
        sortBy(table, th.getAttribute("data-key"), ascending);
        onSort.forEach(function (f) { f(th.getAttribute("data-key") + ":" + (ascending ? "asc" : "desc")); });
      });
    });
  });

  document.querySelectorAll("form[data-filters]").forEach(function (form) {
    form.hidden = false;
    var main = form.parentNode;
    var table = main.querySelector("table[data-sortable]");
    var sort = form.querySelector("select[data-sort]");
    var result = main.querySelector("[data-compare-result]");
    var dots = main.querySelectorAll("[data-dots] li[data-id]");
    // The compare menus list the brands of the chart.
    form.querySelectorAll("select[data-compare]").forEach(function (select) {
      Array.prototype.forEach.call(dots, function (li) {
        var o = document.createElement("option");
        o.value = li.getAttribute("data-id");
        o.textContent = li.querySelector(".name").textContent;
        select.appendChild(o);
      });
    });
    var lists = [table.tBodies[0].rows, main.querySelectorAll("[data-unranked] li")];
    var nameOf = function (row) { return row.getAttribute("data-name") || row.querySelector("a").textContent; };
    var params = new URLSearchParams(location.search);
    var field = function (name) { return form.querySelector("[data-filter='" + name + "'], [data-compare='" + name + "']"); };

    function state() {
      var p = new URLSearchParams();
      ["q", "category", "country", "a", "b"].forEach(function (k) { var f = field(k); if (f && f.value) { p.set(k, f.value); } });
      if (sort && sort.value && sort.value !== "rank:asc") { p.set("sort", sort.value); }
      var q = p.toString();
      try { history.replaceState(null, "", q ? "?" + q : location.pathname); } catch (e) { /* file: URLs in some browsers */ }
    }

    function apply() {
      var q = field("q").value.trim().toLocaleLowerCase(lang);
      var cat = field("category").value, country = field("country").value;
      var a = field("a").value, b = field("b").value;
      var pair = a && b && a !== b;
      var shown = {};
      lists.forEach(function (rows) {
        Array.prototype.forEach.call(rows, function (row) {
          var id = row.getAttribute("data-id");
          var show = pair
            ? (id === a || id === b)
            : (!cat || row.getAttribute("data-category") === cat) &&
              (!country || row.getAttribute("data-country") === country) &&
              (!q || nameOf(row).toLocaleLowerCase(lang).indexOf(q) !== -1);
          row.hidden = !show;
          if (show && id) { shown[id] = true; }
        });
      });
      // The chart shows the brands the table shows.
      Array.prototype.forEach.call(dots, function (li) { li.hidden = !shown[li.getAttribute("data-id")]; });
      if (result) {
        result.hidden = !pair;
        if (pair) {
          var dot = function (id) { return main.querySelector("[data-dots] li[data-id='" + id + "']"); };
          var da = dot(a), db = dot(b);
          if (da && db) {
            var overlap = parseFloat(da.getAttribute("data-lo")) <= parseFloat(db.getAttribute("data-hi")) &&
              parseFloat(db.getAttribute("data-lo")) <= parseFloat(da.getAttribute("data-hi"));
            var hi = parseFloat(da.getAttribute("data-lo")) > parseFloat(db.getAttribute("data-hi")) ? [da, db] : [db, da];
            var text = overlap ? result.getAttribute("data-overlap") : result.getAttribute("data-apart");
            var names = overlap ? [da, db] : hi;
            var name = function (li) { return li.querySelector(".name").textContent; };
            result.textContent = text.replace("{a}", name(names[0])).replace("{b}", name(names[1]));
          }
        }
      }
      state();
    }

    // The state a URL carries, as a reader left it.
    ["q", "category", "country", "a", "b"].forEach(function (k) {
      var f = field(k), v = params.get(k);
      if (f && v !== null && (f.tagName !== "SELECT" || f.querySelector("option[value='" + CSS.escape(v) + "']"))) { f.value = v; }
    });
    if (sort) {
      var wanted = params.get("sort");
      if (wanted && sort.querySelector("option[value='" + CSS.escape(wanted) + "']")) { sort.value = wanted; }
      if (sort.value !== "rank:asc") { var kd = sort.value.split(":"); sortBy(table, kd[0], kd[1] === "asc"); }
      sort.addEventListener("change", function () { var kd = sort.value.split(":"); sortBy(table, kd[0], kd[1] === "asc"); state(); });
      onSort.push(function (value) {
        if (!sort.querySelector("option[value='" + value + "']")) {
          var o = document.createElement("option");
          o.value = value;
          o.textContent = table.querySelector("thead th[data-key='" + value.split(":")[0] + "']").textContent + (value.slice(-3) === "asc" ? " ▲" : " ▼");
          sort.appendChild(o);
        }
        sort.value = value;
        state();
      });
    }
    form.querySelectorAll("select").forEach(function (s) { if (s !== sort) { s.addEventListener("change", apply); } });
    field("q").addEventListener("input", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    apply();
  });
})();
