// The inbox's new arrivals without reloading: every 20 seconds (data-poll) ask for reports newer than the
// newest one shown (same origin) and add them at the top. The page works without this script.
(function () {
  "use strict";
  var table = document.getElementById("inbox");
  var banner = document.getElementById("new-arrivals");
  if (!table || table.getAttribute("data-live") !== "1") { return; }
  var latest = parseInt(table.getAttribute("data-latest"), 10) || 0;
  var added = 0;
  var template = banner ? banner.getAttribute("data-template") : null;

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function add(item) {
    var tr = document.createElement("tr");
    tr.className = (item.unclaimed ? "unclaimed" : "") + (item.urgent ? " urgent" : "") + " fresh";
    var first = document.createElement("td");
    var link = document.createElement("a");
    link.href = "/vanphong/tin/" + item.id;
    var code = document.createElement("code");
    code.textContent = item.code;
    link.appendChild(code);
    first.appendChild(link);
    tr.appendChild(first);
    cell(tr, item.kind);
    cell(tr, item.category);
    cell(tr, item.unit);
    var status = cell(tr, "");
    var span = document.createElement("span");
    span.className = "status status-" + item.status;
    span.textContent = item.status_text;
    status.appendChild(span);
    cell(tr, item.created);
    cell(tr, item.assignee);
    var body = table.tBodies[0];
    body.insertBefore(tr, body.firstChild);
  }

  function poll() {
    fetch("/vanphong/moi?sau=" + latest, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : { rows: [] }; })
      .then(function (data) {
        var rows = data.rows || [];
        for (var i = rows.length - 1; i >= 0; i--) {
          add(rows[i]);
          latest = Math.max(latest, rows[i].id);
          added += 1;
        }
        if (rows.length && banner) {
          banner.textContent = (template || "{count}").replace("{count}", String(added));
          banner.hidden = false;
        }
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  setInterval(poll, parseInt(table.getAttribute("data-poll"), 10) || 20000);
})();
